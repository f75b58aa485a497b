package env

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// CredentialServer serves a profile's AWS credentials to the command in the ECS
// container-credentials format, on a loopback port of its own: the command gets
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN instead of
// keys, and every current SDK and the AWS CLI come back for fresh credentials when theirs
// run short. That is what keeps an all-day shell, or a 14-hour job, working after the
// STS session it started with has expired.
//
// It is written here rather than taken from aws-vault's server package, whose token is
// compared in variable time, shorter than 32 bytes, answered with 403, and whose
// credentials come from a provider of its own rather than av's cache and vault lock.
type CredentialServer struct {
	// URL is what AWS_CONTAINER_CREDENTIALS_FULL_URI gets: http://127.0.0.1:PORT/PATH.
	URL string
	// Token is what every request's Authorization header must hold: 32 random bytes,
	// base64url. A secret: never printed.
	Token string

	opts     ServerOptions
	http     *http.Server
	ctx      context.Context // every request's work: ended by Close, not by a client that gives up
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	closed   bool           // set by Close: no request is answered after it
	inFlight sync.WaitGroup // requests being answered, counted under mu while !closed
}

// CredentialSource gives a profile's AWS session: profiles.Profile, which caches sessions
// itself.
type CredentialSource interface {
	Credentials(ctx context.Context, o profiles.CredentialsOptions) (*profiles.Session, error)
}

// ServerOptions shape a CredentialServer.
type ServerOptions struct {
	// Source gives the credentials: profiles.Profile, through its session cache and the
	// vault's lock, as every av run gets them (100 requests in a burst make at most one
	// STS call). It is never asked to prompt.
	Source CredentialSource
	// Timeout bounds getting the credentials for one request (the AWS calls in it have
	// their own bounds too); zero means a minute.
	Timeout time.Duration
	// Served is told of each set of credentials handed out (CI masks them); Failed of
	// each failure to get them (a renewal that needs an MFA code, say). Either may be nil;
	// both may be called from several goroutines at once.
	Served func(aws.Credentials)
	Failed func(error)
	// Panicked is told of a panic in a request's handler, which net/http would otherwise
	// swallow: av stops the command for it, as for any of its panics. Nil: re-panicked.
	Panicked func(value any, stack []byte)
}

// The endpoint is a loopback port, open to every user of the machine: what another user
// can make it hold is bounded.
const (
	// maxConns bounds the connections open at once, far below av's descriptor limit; more
	// wait in the kernel's accept queue (limitListener).
	maxConns = 64
	// headerTimeout bounds reading a request's header: the SDKs send theirs at once.
	headerTimeout = 2 * time.Second
)

// credentialsPath is the only path served: any other gets 404.
const credentialsPath = "/av/credentials"

// tokenBytes is the bearer token's length before encoding.
const tokenBytes = 32

// StartCredentialServer listens on a random loopback port and serves until Close.
func StartCredentialServer(o ServerOptions) (*CredentialServer, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("making the credential endpoint's token: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the credential endpoint: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	s := &CredentialServer{
		URL:   "http://" + ln.Addr().String() + credentialsPath,
		Token: base64.RawURLEncoding.EncodeToString(raw),
		opts:  o,
		done:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       headerTimeout, // the SDKs send a GET, with no body to wait for
		WriteTimeout:      o.Timeout + 10*time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	limited := limitListener(ln, maxConns)
	s.http.ConnState = limited.track
	go func() {
		defer close(s.done)
		s.http.Serve(limited) // returns http.ErrServerClosed at Close
	}()
	return s, nil
}

// Close stops the server: it listens no more, and requests in flight are cut off (their
// connections closed, their contexts ended). It returns once the server is gone and no
// request is still being answered, so the caller may go on to use what Source uses.
func (s *CredentialServer) Close() error {
	s.cancel()
	err := s.http.Close()
	<-s.done
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.inFlight.Wait()
	return err
}

// ecsCredentials is the container-credentials answer, as ECS and EKS Pod Identity give
// it, and as the SDKs (endpointcreds, botocore's ContainerProvider) read it.
type ecsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token,omitempty"`
	Expiration      string `json:"Expiration"`
}

// staticRefresh is the Expiration given with credentials that do not expire (master keys,
// with --no-session): botocore needs one, and comes back after it for the same keys.
const staticRefresh = 15 * time.Minute

func (s *CredentialServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeCredentialError(w, http.StatusServiceUnavailable, "Closed", "the command has ended")
		return
	}
	s.inFlight.Add(1)
	s.mu.Unlock()
	defer s.inFlight.Done()
	defer s.recoverPanic()
	// The token first, whatever the path: without it, nothing about the server is told,
	// and the connection is closed (another user's flood of them must hold nothing open).
	got := r.Header.Get("Authorization")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
		w.Header().Set("Connection", "close")
		writeCredentialError(w, http.StatusUnauthorized, "Unauthorized", "a missing or wrong authorization token")
		return
	}
	if r.URL.Path != credentialsPath {
		w.Header().Set("Connection", "close")
		writeCredentialError(w, http.StatusNotFound, "NotFound", "no such path")
		return
	}
	if r.Method != http.MethodGet {
		writeCredentialError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET")
		return
	}
	// Not r.Context(): the SDKs give up on an endpoint after a second or two (botocore 2 s,
	// the JS SDK 1 s) and ask again. A renewal slower than that (STS, the vault's lock) goes
	// on, so the next attempt finds its session, instead of being cut off and begun anew.
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	sess, err := s.opts.Source.Credentials(ctx, profiles.CredentialsOptions{NoPrompt: true})
	if err != nil {
		if s.opts.Failed != nil && s.ctx.Err() == nil {
			// Not one that Close cut off: the command has ended, nobody waits for it.
			s.opts.Failed(err)
		}
		// A renewal that needs a person is not retried by the SDKs (4xx); an AWS
		// outage is (5xx).
		status, code := http.StatusBadGateway, "CredentialsUnavailable"
		var sso *profiles.SSOLoginError
		if errors.Is(err, profiles.ErrNeedsMFA) || errors.As(err, &sso) {
			status, code = http.StatusForbidden, "RenewalNeedsAPerson"
		}
		writeCredentialError(w, status, code, err.Error())
		return
	}
	c := sess.Credentials
	if s.opts.Served != nil {
		s.opts.Served(c)
	}
	exp := c.Expires
	if !c.CanExpire {
		exp = time.Now().Add(staticRefresh)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ecsCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      exp.UTC().Format(time.RFC3339),
	})
}

// recoverPanic hands a panic in a handler to Panicked: net/http would log it and go on.
func (s *CredentialServer) recoverPanic() {
	r := recover()
	if r == nil || r == http.ErrAbortHandler {
		if r != nil {
			panic(r)
		}
		return
	}
	if s.opts.Panicked == nil {
		panic(r)
	}
	s.opts.Panicked(r, debug.Stack())
	panic(http.ErrAbortHandler) // this request gets no answer; its connection is closed
}

// limitListener accepts at most n connections open at once, and none of another user's
// (peerUID, where the system tells). When all n are taken, one that
// idles between requests (an SDK client's keep-alive) is closed to make room: a burst of
// the command's own clients never waits for another's idle timeout. Otherwise the next
// connection waits, in the kernel's queue, until one closes. track is the server's
// ConnState hook.
func limitListener(ln net.Listener, n int) *limited {
	return &limited{Listener: ln, slots: make(chan struct{}, n), idle: map[net.Conn]bool{}, wentIdle: make(chan struct{}, 1)}
}

// limited is a listener of at most cap(slots) open connections; mu guards idle.
type limited struct {
	net.Listener
	slots    chan struct{}
	wentIdle chan struct{} // a connection went idle since Accept last looked
	mu       sync.Mutex
	idle     map[net.Conn]bool
}

func (l *limited) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		// Another user's connection is closed at once, unread, and takes no slot: a flood
		// of them, slow ones included, drains at the speed of accept. Root's may stay (it
		// can read av's memory anyway), as may those of av's own user: the command's.
		if uid, ok := peerUID(c); ok && uid != os.Getuid() && uid != 0 {
			c.Close()
			continue
		}
		l.takeSlot()
		return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
	}
}

// takeSlot waits for a free slot; when none is, an idle connection gives way.
func (l *limited) takeSlot() {
	for {
		select {
		case l.slots <- struct{}{}:
			return
		default:
		}
		if l.closeOneIdle() {
			continue
		}
		// All busy: wait for one to close, or to go idle (then close it).
		select {
		case l.slots <- struct{}{}:
			return
		case <-l.wentIdle:
		}
	}
}

// track keeps the set of idle connections (http.Server.ConnState).
func (l *limited) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if state == http.StateIdle {
		l.idle[c] = true
		select {
		case l.wentIdle <- struct{}{}:
		default:
		}
	} else {
		delete(l.idle, c)
	}
}

// closeOneIdle closes an idle connection, if there is one, and reports whether it did.
func (l *limited) closeOneIdle() bool {
	l.mu.Lock()
	var victim net.Conn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close()
	return true
}

type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}

// writeCredentialError answers as the container endpoints do: {"code", "message"}, which
// the SDKs put in the error they return.
func writeCredentialError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}
