// The errors parseSigHeader returns are sent to the client as the message of an
// IncompleteSignature error, in AWS's own wording, capitals included.
//
//lint:file-ignore ST1005 these error strings are AWS's error messages, sent as they are

package standin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	// maxSkew is how far X-Amz-Date may be from the stand-in's clock, as AWS allows.
	maxSkew = 15 * time.Minute
)

// sigHeader is the parsed Authorization header of a SigV4 request.
type sigHeader struct {
	accessKey     string
	date          string // YYYYMMDD from the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     []byte
}

func (h sigHeader) scope() string {
	return h.date + "/" + h.region + "/" + h.service + "/aws4_request"
}

func (h sigHeader) signs(name string) bool {
	for _, s := range h.signedHeaders {
		if s == name {
			return true
		}
	}
	return false
}

// parseSigHeader parses
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseSigHeader(v string) (sigHeader, error) {
	var h sigHeader
	rest, ok := strings.CutPrefix(v, sigAlgorithm+" ")
	if !ok {
		return h, fmt.Errorf("Authorization header must use %s", sigAlgorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return h, fmt.Errorf("Authorization header has a malformed component %q", strings.TrimSpace(part))
		}
		fields[k] = val
	}
	cred, signed, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signed == "" || sig == "" {
		return h, fmt.Errorf("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" {
		return h, fmt.Errorf("Credential should be scoped to a valid region, not a malformed scope")
	}
	h.accessKey, h.date, h.region, h.service = scope[0], scope[1], scope[2], scope[3]
	h.signedHeaders = strings.Split(signed, ";")
	var err error
	if h.signature, err = hex.DecodeString(sig); err != nil || len(h.signature) != sha256.Size {
		return h, fmt.Errorf("Signature must be 64 hex characters")
	}
	return h, nil
}

// checkSignature recomputes the SigV4 signature of r from what the client
// said it signed, and compares it with the one it sent. It works from the
// request as received rather than re-signing with the SDK's signer, because
// the client's transport adds headers (Accept-Encoding, User-Agent) after
// signing; only SignedHeaders take part.
func checkSignature(r *http.Request, body []byte, h sigHeader, secret string, now time.Time) *awsError {
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return errIncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if !h.signs("host") {
		return errIncompleteSignature("Authorization header requires 'host' to be among the SignedHeaders.")
	}
	signedAt, err := time.Parse(amzDateFmt, amzDate)
	if err != nil {
		return errIncompleteSignature(fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate))
	}
	if d := now.Sub(signedAt); d > maxSkew || d < -maxSkew {
		return errBadSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.UTC().Add(-maxSkew).Format(amzDateFmt), now.UTC().Format(amzDateFmt)))
	}
	if h.date != amzDate[:8] {
		return errBadSignature(fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			h.date, amzDate[:8], amzDate))
	}

	payloadHash := sha256Hex(body)
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != payloadHash {
		return errBadSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}

	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(r.URL.RawQuery),
		canonicalHeaders(r, h.signedHeaders),
		strings.Join(h.signedHeaders, ";"),
		payloadHash,
	}, "\n")
	stringToSign := strings.Join([]string{sigAlgorithm, amzDate, h.scope(), sha256Hex([]byte(canonical))}, "\n")

	key := hmacSHA256([]byte("AWS4"+secret), h.date)
	key = hmacSHA256(key, h.region)
	key = hmacSHA256(key, h.service)
	key = hmacSHA256(key, "aws4_request")
	if !hmac.Equal(hmacSHA256(key, stringToSign), h.signature) {
		return errBadSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// canonicalURI escapes the already-escaped path once more, as SigV4 asks of
// every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts after encoding, which is what SigV4 specifies: the
// encoded and decoded orders can differ.
func canonicalQuery(raw string) string {
	values, _ := url.ParseQuery(raw)
	var pairs []string
	for k, vs := range values {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			// net/http may move the length out of the header map.
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header.Values(name)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// collapseSpaces trims a header value and squeezes runs of spaces to one,
// the way SigV4 canonicalizes header values.
func collapseSpaces(v string) string {
	var b strings.Builder
	space := false
	for _, c := range strings.TrimSpace(v) {
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(c)
	}
	return b.String()
}

// uriEncode percent-encodes everything outside RFC 3986's unreserved set,
// optionally leaving '/' alone for paths.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
