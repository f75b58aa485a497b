package env

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// safeSource hands out one session, from any number of goroutines.
type safeSource struct{}

func (safeSource) Credentials(context.Context, profiles.CredentialsOptions) (*profiles.Session, error) {
	return &profiles.Session{Credentials: aws.Credentials{AccessKeyID: "AKIDFLOOD", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}}, nil
}

// floodEnv names the endpoint for TestFloodHelper, the flood run as another user.
const floodEnv = "AV_TEST_FLOOD_URL"

// TestCredentialServerHoldsAgainstAFlood: another local user opens 20,000 connections to
// the endpoint, each with one request without the token. Each gets its 401 and is
// closed; the command's own SDK keeps getting its credentials all the while; the endpoint
// holds no more than maxConns connections, and its goroutines stay bounded. The flood runs
// as uid 65534 when the test runs as root (setpriv), else in this process.
func TestCredentialServerHoldsAgainstAFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 20,000 connections")
	}
	s := startTestServer(t, safeSource{}, ServerOptions{})
	flood := func() error { return floodServer(s.URL, 20000) }
	if os.Getuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err == nil {
			flood = func() error {
				cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", os.Args[0], "-test.run=^TestFloodHelper$")
				cmd.Env = append(os.Environ(), floodEnv+"="+s.URL)
				out, err := cmd.CombinedOutput()
				if err != nil {
					return fmt.Errorf("the flood as uid 65534: %v: %s", err, out)
				}
				return nil
			}
		} else {
			t.Log("setpriv is not installed: the flood runs as this user")
		}
	} else {
		t.Log("not root: the flood runs as this user")
	}

	done := make(chan error, 1)
	go func() { done <- flood() }()
	provider := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
	var calls, maxGoroutines int
	for flooding := true; flooding; calls++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			flooding = false
		default:
		}
		// As the SDK asks, each time afresh: a second at most, as botocore's timeout.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := provider.Retrieve(ctx)
		cancel()
		if err != nil || c.AccessKeyID != "AKIDFLOOD" {
			t.Fatalf("call %d of the command's SDK during the flood: %v", calls, err)
		}
		maxGoroutines = max(maxGoroutines, runtime.NumGoroutine())
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d calls of the command's SDK during the flood, all served; at most %d goroutines", calls, maxGoroutines)
	// A goroutine or two per connection: bounded by maxConns, not by the flood.
	if maxGoroutines > 4*maxConns+50 {
		t.Errorf("%d goroutines during the flood: the connections are not bounded", maxGoroutines)
	}
}

// TestFloodHelper is the flood, run as another user by TestCredentialServerHoldsAgainstAFlood
// (or, with AV_TEST_FLOOD_SILENT set, silent connections for TestCredentialServerSilentFlood).
func TestFloodHelper(t *testing.T) {
	url := os.Getenv(floodEnv)
	if url == "" {
		t.Skip("run by TestCredentialServerHoldsAgainstAFlood")
	}
	if os.Getenv("AV_TEST_FLOOD_SILENT") != "" {
		silentFlood(url, 300, 5*time.Second)
		return
	}
	if err := floodServer(url, 20000); err != nil {
		t.Fatal(err)
	}
}

// silentFlood keeps n connections open to url's host for d, each sending nothing (or a
// byte now and then), opening another whenever one is closed.
func silentFlood(url string, n int, d time.Duration) {
	host := strings.TrimPrefix(url, "http://")
	host = host[:strings.IndexByte(host, '/')]
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(end) {
				c, err := net.DialTimeout("tcp", host, time.Second)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				c.SetDeadline(end)
				c.Write([]byte("G")) // a header begun, never finished
				c.Read(make([]byte, 1))
				c.Close()
			}
		})
	}
	wg.Wait()
}

// TestCredentialServerSilentFlood: another local user holds 300 connections open without
// sending a request (a slow-loris), opening more as they are closed. The command's own SDK
// keeps getting its credentials all the while: another user's connections are closed at
// once, unread, and take none of the endpoint's 64. Needs root (to be another user).
func TestCredentialServerSilentFlood(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run the flood as uid 65534")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	s := startTestServer(t, safeSource{}, ServerOptions{})
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", os.Args[0], "-test.run=^TestFloodHelper$")
	cmd.Env = append(os.Environ(), floodEnv+"="+s.URL, "AV_TEST_FLOOD_SILENT=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	time.Sleep(time.Second) // the flood under way (this only lets it start: any moment will do)
	provider := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // botocore's
		_, err := provider.Retrieve(ctx)
		cancel()
		if err != nil {
			t.Fatalf("call %d of the command's SDK during the silent flood: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// floodServer opens n connections to url's host, 200 at a time, each sending one request
// without the token and reading the answer: each must be a 401 with the connection closed.
func floodServer(url string, n int) error {
	host := strings.TrimPrefix(url, "http://")
	host = host[:strings.IndexByte(host, '/')]
	var next, bad atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			// A few failures tell: the rest of the flood would only take longer.
			for next.Add(1) <= int64(n) && bad.Load() < 20 {
				if err := oneRequest(host); err != nil {
					if bad.Add(1) == 1 {
						first.Store(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if b := bad.Load(); b > 0 {
		return fmt.Errorf("%d flood requests were not refused and closed (the flood stopped there), the first: %v", b, first.Load())
	}
	return nil
}

func oneRequest(host string) error {
	c, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	// Far longer than a refusal takes; the connection of one that is kept open for more
	// requests (1 minute idle) fails here.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /av/credentials HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil { // the server closed it: all it will say is said
			break
		}
	}
	if len(got) == 0 {
		return nil // closed at once, unread: another user's connection
	}
	status, _, _ := strings.Cut(string(got), "\r\n")
	if code, _ := strconv.Atoi(strings.Fields(status + " x x")[1]); code != 401 {
		return fmt.Errorf("answered %q", status)
	}
	if !strings.Contains(strings.ToLower(string(got)), "connection: close") {
		return fmt.Errorf("the 401 did not close its connection")
	}
	return nil
}

// TestCredentialServerPanic: a panic in a handler reaches Panicked (av stops the command
// for it), and the request gets no credentials.
func TestCredentialServerPanic(t *testing.T) {
	var got atomic.Value
	s := startTestServer(t, panicSource{}, ServerOptions{Panicked: func(v any, stack []byte) { got.Store(fmt.Sprint(v)) }})
	provider := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
	if _, err := provider.Retrieve(context.Background()); err == nil {
		t.Error("a request whose handler panicked got credentials")
	}
	if got.Load() != "the source broke" {
		t.Errorf("Panicked was told %v", got.Load())
	}
}

type panicSource struct{}

func (panicSource) Credentials(context.Context, profiles.CredentialsOptions) (*profiles.Session, error) {
	panic("the source broke")
}

// TestCredentialServerBurstOfClients: more of the command's own clients at once than the
// endpoint keeps connections for, each keeping its connection alive after its answer (as
// SDK clients do): each idle one gives way, so none waits for another's idle timeout (a
// minute). The 20 s bound is many times what the burst takes (well under a second here).
func TestCredentialServerBurstOfClients(t *testing.T) {
	s := startTestServer(t, safeSource{}, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 3 * maxConns {
		wg.Go(func() {
			p := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
			if _, err := p.Retrieve(ctx); err != nil {
				if failed.Add(1) == 1 {
					t.Errorf("a client of the burst: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d clients got no credentials", n, 3*maxConns)
	}
}
