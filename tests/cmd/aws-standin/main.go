// Command aws-standin runs the project's AWS stand-in (package
// github.com/av-cli/av/tests/standin) as a process, for end-to-end tests
// that start the av binary and need somewhere for it to send STS and ECR
// calls. Point the SDK at it with AWS_ENDPOINT_URL=<printed URL>.
//
//	aws-standin -root-key-file keys -password-file pw \
//	    -region-registry eu-west-1=http://127.0.0.1:5000 -ready-file url
//
// It prints its URL on stdout (and writes it to -ready-file), logs one line
// per call on stderr, and exits on SIGINT or SIGTERM. Call counts are at
// GET <URL>/_standin/calls.
//
// It also serves the identities of a CI job or a cloud machine: GitHub
// Actions' OIDC token endpoint, AssumeRoleWithWebIdentity, IMDSv2 and
// container credentials. -platform-file writes where they are, and their
// tokens, as NAME=VALUE lines (GH_OIDC_URL, GH_OIDC_REQUEST_TOKEN,
// WEB_IDENTITY_TOKEN, IMDS_ENDPOINT, CONTAINER_CREDS_URI,
// CONTAINER_CREDS_TOKEN), the names the e2e scripts use.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/av-cli/av/tests/standin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "aws-standin:", err)
		os.Exit(2)
	}
}

// pairs collects repeated key=value flags.
type pairs [][2]string

func (p *pairs) String() string { return fmt.Sprint(*p) }

func (p *pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*p = append(*p, [2]string{k, val})
	return nil
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("aws-standin", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var (
		addr         = flags.String("addr", "127.0.0.1:0", "address to listen on")
		passwordFile = flags.String("password-file", "", "file holding the registry password that ECR and ECR Public tokens carry")
		rootKeyFile  = flags.String("root-key-file", "", "file of `ID SECRET` lines, the long-term keys to accept; if missing, one key is generated and written there (mode 0600)")
		tokenTTL     = flags.Duration("token-ttl", 12*time.Hour, "lifetime of ECR authorization tokens")
		maxDuration  = flags.Duration("max-duration", 0, "if set, cap on the lifetime of issued STS credentials")
		readyFile    = flags.String("ready-file", "", "file to write the URL to once listening")
		platformFile = flags.String("platform-file", "", "file to write (mode 0600) the platform identities' addresses and tokens to, as NAME=VALUE lines, once listening")
		registries   pairs
		mfaDevices   pairs
	)
	flags.Var(&registries, "region-registry", "`region=proxyEndpoint` that ECR tokens signed for region point at (repeatable)")
	flags.Var(&mfaDevices, "mfa", "`serial=code`: MFA device and the one code it accepts (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if *rootKeyFile == "" {
		return errors.New("-root-key-file is required: without keys every call is rejected")
	}

	srv := standin.New(standin.Options{
		Addr:        *addr,
		MaxDuration: *maxDuration,
		TokenTTL:    *tokenTTL,
		Logf:        log.New(stderr, "", log.LstdFlags).Printf,
	})
	if err := loadRootKeys(srv, *rootKeyFile); err != nil {
		return err
	}
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return err
		}
		password := strings.TrimRight(string(b), "\r\n")
		if password == "" {
			return fmt.Errorf("%s is empty", *passwordFile)
		}
		for _, r := range registries {
			srv.SetRegistry(r[0], r[1], password)
		}
		srv.SetPublicPassword(password)
	} else if len(registries) > 0 {
		return errors.New("-region-registry needs -password-file")
	}
	for _, m := range mfaDevices {
		srv.SetMFA(m[0], m[1])
	}

	url, err := srv.Start()
	if err != nil {
		return err
	}
	defer srv.Close()
	// Before the ready file: whoever waits for that may read this at once.
	if *platformFile != "" {
		if err := writeAtomically(*platformFile, platformLines(srv), 0o600); err != nil {
			return err
		}
		defer os.Remove(*platformFile)
	}
	if *readyFile != "" {
		if err := writeAtomically(*readyFile, url, 0o644); err != nil {
			return err
		}
		defer os.Remove(*readyFile)
	}
	fmt.Fprintln(stdout, url)

	<-ctx.Done()
	return nil
}

// platformLines says where the platform identities are, and their tokens.
func platformLines(srv *standin.Server) string {
	ghURL, ghToken := srv.GitHubOIDC()
	containerURI, containerToken := srv.ContainerCredentials()
	var b strings.Builder
	for _, kv := range [][2]string{
		{"GH_OIDC_URL", ghURL},
		{"GH_OIDC_REQUEST_TOKEN", ghToken},
		{"WEB_IDENTITY_TOKEN", srv.NewWebIdentityToken("sts.amazonaws.com")},
		{"IMDS_ENDPOINT", srv.URL()},
		{"CONTAINER_CREDS_URI", containerURI},
		{"CONTAINER_CREDS_TOKEN", containerToken},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String()
}

// loadRootKeys registers the keys in path, or creates path holding one new
// key so that the test can read back what to sign with.
func loadRootKeys(srv *standin.Server, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, secret := srv.NewRootKey()
		// O_EXCL: never overwrite keys another process just wrote.
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "%s %s\n", id, secret); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	if err != nil {
		return err
	}
	defer f.Close()

	n := 0
	scanner := bufio.NewScanner(f)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			// The line holds a secret: say where, not what.
			return fmt.Errorf("%s:%d: want `ID SECRET`", path, line)
		}
		srv.AddRootKey(fields[0], fields[1])
		n++
	}
	if err := scanner.Err(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s holds no keys", path)
	}
	return nil
}

// writeAtomically makes the file appear complete or not at all, since
// whoever waits for it may read it the moment it exists.
func writeAtomically(path, content string, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
