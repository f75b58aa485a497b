// Command aws-caller is what a long-lived command does with AWS: it calls STS
// GetCallerIdentity through the SDK's default credential chain, as any program in an av
// shell would, and reports what it saw. The e2e tests run it under av's credential
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI).
//
//	aws-caller once             one call; prints "ok ARN"
//	aws-caller sessions K       calls every 250 ms, each one with the credentials the SDK
//	                            has then, until the calls have used K sessions (two minutes
//	                            at most); prints "ok N calls, K sessions"
//	aws-caller short DURATION   gets the credential endpoint's credentials and waits until
//	                            they have less than DURATION left (two minutes at most), by
//	                            the Expiration the endpoint gave: the stand-in's clock
//	aws-caller burst N          N container-credential fetches at once, each with a client
//	                            of its own; prints "ok N"
//
// It never prints a secret.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aws-caller:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := sts.NewFromConfig(cfg)
	call := func() (string, error) {
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Arn), nil
	}
	switch {
	case args[0] == "once" && len(args) == 1:
		arn, err := call()
		if err != nil {
			return err
		}
		fmt.Println("ok", arn)
		return nil
	case args[0] == "sessions" && len(args) == 2:
		want, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		calls, keys := 0, map[string]bool{}
		for end := time.Now().Add(limit); len(keys) < want; time.Sleep(250 * time.Millisecond) {
			if time.Now().After(end) {
				return fmt.Errorf("%d calls used %d sessions in %s, want %d", calls, len(keys), limit, want)
			}
			c, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return fmt.Errorf("after %d calls: %w", calls, err)
			}
			if _, err := call(); err != nil {
				return fmt.Errorf("after %d calls with %d sessions: %w", calls, len(keys), err)
			}
			calls++
			keys[c.AccessKeyID] = true
		}
		fmt.Printf("ok %d calls, %d sessions\n", calls, len(keys))
		return nil
	case args[0] == "short" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		p, err := endpoint()
		if err != nil {
			return err
		}
		c, err := p.Retrieve(ctx)
		if err != nil {
			return err
		}
		wait := time.Until(c.Expires.Add(-d))
		if !c.CanExpire || wait > limit {
			return fmt.Errorf("the credentials have %s left, more than %s and %s", time.Until(c.Expires).Round(time.Second), d, limit)
		}
		time.Sleep(wait)
		return nil
	case args[0] == "burst" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		if _, err := endpoint(); err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				p, _ := endpoint()
				_, errs[i] = p.Retrieve(ctx)
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		fmt.Println("ok", n)
		return nil
	}
	return errors.New(usage)
}

const usage = "usage: aws-caller once | sessions K | short DURATION | burst N"

// limit bounds the waits: a safety net, far beyond the seconds the tests' sessions last.
const limit = 2 * time.Minute

// endpoint is the credential endpoint av gives the command.
func endpoint() (*endpointcreds.Provider, error) {
	url, token := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if url == "" || token == "" {
		return nil, errors.New("no credential endpoint in the environment")
	}
	return endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = token }), nil
}
