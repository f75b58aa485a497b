package profiles

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// DefaultAWSTimeout is how long one AWS call may take, all its attempts together: STS,
// ECR, SSO and the rest answer in a second; an endpoint that has not answered in this
// long is not going to, and a run waiting for it holds the fetch lock of what it fetches,
// which other runs of the profile wait for.
const DefaultAWSTimeout = 30 * time.Second

// TimeoutError says an AWS endpoint did not answer a call in time: the call's whole time
// ran out, or every attempt did.
type TimeoutError struct {
	Service   string // the SDK's service ID: STS, ECR, ECR PUBLIC, SSO, SSO OIDC
	Operation string // GetSessionToken, GetAuthorizationToken, …
	Region    string
	Timeout   time.Duration // the call's whole time
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s in %s did not answer within %s", e.Service, e.Operation, e.Region, e.Timeout)
}

// boundCalls bounds every call of the clients made from c: each in total (a deadline on
// the call, retries and their back-off included) and each attempt (the HTTP client's
// timeout, connecting to reading the whole answer), which gets an equal share of the
// total, so that a hung attempt is retried within it. A timeout becomes a TimeoutError.
func boundCalls(c *aws.Config, total time.Duration) {
	total = orDefaultDuration(total, DefaultAWSTimeout)
	attempts := c.RetryMaxAttempts
	if attempts <= 0 {
		attempts = retry.DefaultMaxAttempts
	}
	perAttempt := total / time.Duration(attempts)
	// LoadDefaultConfig's client carries AWS_CA_BUNDLE: keep it, with a timeout.
	if bc, ok := c.HTTPClient.(*awshttp.BuildableClient); ok {
		c.HTTPClient = bc.WithTimeout(perAttempt)
	} else {
		c.HTTPClient = awshttp.NewBuildableClient().WithTimeout(perAttempt)
	}
	c.APIOptions = append(c.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(callDeadline(total), middleware.After)
	})
}

// callDeadline puts a deadline of total on the call and words a timeout.
func callDeadline(total time.Duration) middleware.InitializeMiddleware {
	return middleware.InitializeMiddlewareFunc("av.CallDeadline", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		callCtx, cancel := context.WithTimeout(ctx, total)
		defer cancel()
		out, md, err := next.HandleInitialize(callCtx, in)
		if err != nil && ctx.Err() == nil && (callCtx.Err() != nil || everyAttemptTimedOut(md)) {
			err = &TimeoutError{
				Service:   awsmiddleware.GetServiceID(ctx),
				Operation: awsmiddleware.GetOperationName(ctx),
				Region:    awsmiddleware.GetRegion(ctx),
				Timeout:   total,
			}
		}
		return out, md, err
	})
}

// everyAttemptTimedOut reports whether the call's attempts all ended in a timeout.
func everyAttemptTimedOut(md middleware.Metadata) bool {
	results, ok := retry.GetAttemptResults(md)
	if !ok || len(results.Results) == 0 {
		return false
	}
	for _, r := range results.Results {
		var t interface{ Timeout() bool }
		if r.Err == nil || !errors.As(r.Err, &t) || !t.Timeout() {
			return false
		}
	}
	return true
}
