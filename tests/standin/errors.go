package standin

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
)

// awsError is an error as AWS reports it. The query protocol (STS) and the
// JSON 1.1 protocol (ECR) name the same authentication failures differently,
// so both names are kept.
type awsError struct {
	status   int    // HTTP status under the query protocol
	code     string // query protocol code
	jsonCode string // JSON 1.1 code; empty when it is the same as code
	message  string
}

func (e *awsError) Error() string { return e.code + ": " + e.message }

func (e *awsError) jsonName() string {
	if e.jsonCode != "" {
		return e.jsonCode
	}
	return e.code
}

func authError(code, jsonCode, message string) *awsError {
	return &awsError{status: http.StatusForbidden, code: code, jsonCode: jsonCode, message: message}
}

func errMissingAuth() *awsError {
	return authError("MissingAuthenticationToken", "MissingAuthenticationTokenException", "Request is missing Authentication Token")
}

func errIncompleteSignature(msg string) *awsError {
	return authError("IncompleteSignature", "IncompleteSignatureException", msg)
}

func errBadSignature(msg string) *awsError {
	return authError("SignatureDoesNotMatch", "InvalidSignatureException", msg)
}

func errInvalidToken() *awsError {
	return authError("InvalidClientTokenId", "UnrecognizedClientException", "The security token included in the request is invalid.")
}

func errExpiredToken() *awsError {
	return authError("ExpiredToken", "ExpiredTokenException", "The security token included in the request is expired")
}

func errAccessDenied(msg string) *awsError {
	return &awsError{status: http.StatusForbidden, code: "AccessDenied", jsonCode: "AccessDeniedException", message: msg}
}

func errValidation(msg string) *awsError {
	return &awsError{status: http.StatusBadRequest, code: "ValidationError", jsonCode: "ValidationException", message: msg}
}

func errInvalidParameter(msg string) *awsError {
	return &awsError{status: http.StatusBadRequest, code: "InvalidParameterValue", jsonCode: "InvalidParameterException", message: msg}
}

func errUnknownOperation(msg string) *awsError {
	return &awsError{status: http.StatusBadRequest, code: "InvalidAction", jsonCode: "UnknownOperationException", message: msg}
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

func writeQueryError(w http.ResponseWriter, requestID string, e *awsError) {
	var resp queryErrorResponse
	resp.Error.Type = "Sender"
	resp.Error.Code = e.code
	resp.Error.Message = e.message
	resp.RequestID = requestID
	writeXML(w, e.status, requestID, resp)
}

// writeJSONError answers with 400, as JSON 1.1 services do for every client
// error, authentication failures included.
func writeJSONError(w http.ResponseWriter, requestID string, e *awsError) {
	code := e.jsonName()
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, http.StatusBadRequest, requestID, map[string]string{"__type": code, "message": e.message})
}

func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	w.Write(body)
}
