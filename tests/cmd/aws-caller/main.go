// Command aws-caller is what a long-lived command does with AWS: it calls STS
// GetCallerIdentity through the SDK's default credential chain, as any program in an av
// shell would, and reports what it saw. The e2e tests run it under av's credential
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI).
//
//	aws-caller once             one call; prints "ok ARN"
//	aws-caller for DURATION     calls every 250 ms for DURATION, each one with the
//	                            credentials the SDK has then; prints "ok N calls, K sessions"
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
		return errors.New("usage: aws-caller once | for DURATION | burst N")
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
	case args[0] == "for" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		calls, keys := 0, map[string]bool{}
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
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
	case args[0] == "burst" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		url, token := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		if url == "" || token == "" {
			return errors.New("no credential endpoint in the environment")
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				p := endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = token })
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
	return errors.New("usage: aws-caller once | for DURATION | burst N")
}
