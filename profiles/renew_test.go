package profiles

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/av-cli/av/tests/standin"
)

// A role whose source profile's session was bought with an MFA code: ECR rejects the role's
// session (the role's sessions were revoked), and renewing it, while the command has the
// terminal, assumes the role again with the source's session. Dropping that one too would
// need a person for what the vault still holds, and would cost every other profile that
// sources it its MFA session.
func TestRenewKeepsTheSourceSession(t *testing.T) {
	sts := standin.New(standin.Options{})
	url, err := sts.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sts.Close() })
	id, secret := sts.NewRootKey()
	const serial, code = "arn:aws:iam::123456789012:mfa/me", "123456"
	sts.SetMFA(serial, code)
	writeConfig(t, "[profile dev]\nregion = eu-west-1\nmfa_serial = "+serial+"\n"+
		"[profile role]\nregion = eu-west-1\nsource_profile = dev\nmfa_serial = "+serial+"\nrole_arn = arn:aws:iam::123456789012:role/deploy\n")
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	v := fileVault(t, t.TempDir(), t.TempDir())
	if err := v.credentials().Set("dev", aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lookup(cfg, v, "role", Options{MFAToken: code})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := p.Credentials(ctx, CredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := p.Credentials(ctx, CredentialsOptions{NoPrompt: true, Renew: true})
	if err != nil {
		t.Fatalf("renewing the role's session: %v", err)
	}
	if renewed.Credentials.AccessKeyID == first.Credentials.AccessKeyID {
		t.Error("the rejected session was served again")
	}
	if n := sts.Calls("sts.GetSessionToken"); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1: the source's MFA session was dropped", n)
	}
	if n := sts.Calls("sts.AssumeRole"); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

// The profile's keys were deleted in IAM (the vault still has them), and its cached MFA
// session has too little life left to be used. STS refuses GetSessionToken with the keys:
// no cached session was used, so there is nothing to heal, and the MFA code is not asked
// for, nor sent, a second time.
func TestRejectedKeysAreNotRetriedForAnUnusedSession(t *testing.T) {
	sts := standin.New(standin.Options{})
	url, err := sts.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sts.Close() })
	const serial, code = "arn:aws:iam::123456789012:mfa/me", "123456"
	sts.SetMFA(serial, code)
	writeConfig(t, "[profile dev]\nregion = eu-west-1\nmfa_serial = "+serial+"\n")
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	v := fileVault(t, t.TempDir(), t.TempDir())
	if err := v.credentials().Set("dev", aws.Credentials{AccessKeyID: "AKIADELETED", SecretAccessKey: "gone"}); err != nil {
		t.Fatal(err)
	}
	sk := &vault.SessionKeyring{Keyring: v.kr}
	if err := sk.Set(vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: "dev", MfaSerial: serial}, stsCredentials(time.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lookup(cfg, v, "dev", Options{MFAToken: code})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Credentials(context.Background(), CredentialsOptions{}); !Rejected(err) {
		t.Fatalf("err = %v, want STS's refusal", err)
	}
	if n := sts.Calls("sts.GetSessionToken"); n != 1 {
		t.Errorf("%d GetSessionToken calls, each with the MFA code: want 1", n)
	}
}

// A session another service rejected is renewed only if it is a session (master keys are
// read afresh anyway) and the answer says the session is no longer valid; the renewal
// keeps the caller's options (a renewal while the command runs must not prompt either).
func TestSessionRenewal(t *testing.T) {
	session := &Session{Credentials: aws.Credentials{AccessKeyID: "ASIADEV", CanExpire: true}}
	master := &Session{Credentials: aws.Credentials{AccessKeyID: "AKIADEV"}}
	rejected := fmt.Errorf("minting an ECR token in eu-west-1: %w", &smithy.GenericAPIError{Code: "UnrecognizedClientException"})
	denied := fmt.Errorf("minting an ECR token in eu-west-1: %w", &smithy.GenericAPIError{Code: "AccessDeniedException"})
	for _, tt := range []struct {
		name string
		s    *Session
		err  error
		o    CredentialsOptions
		want CredentialsOptions
		ok   bool
	}{
		{"a rejected session", session, rejected, CredentialsOptions{}, CredentialsOptions{Renew: true}, true},
		{"a rejected session, no prompting", session, rejected, CredentialsOptions{NoPrompt: true}, CredentialsOptions{NoPrompt: true, Renew: true}, true},
		{"an expired token", session, &smithy.GenericAPIError{Code: "ExpiredTokenException"}, CredentialsOptions{}, CredentialsOptions{Renew: true}, true},
		{"rejected master keys", master, rejected, CredentialsOptions{}, CredentialsOptions{}, false},
		{"access denied", session, denied, CredentialsOptions{}, CredentialsOptions{}, false},
		{"a plain error", session, errors.New("UnrecognizedClientException"), CredentialsOptions{}, CredentialsOptions{}, false},
		{"no error", session, nil, CredentialsOptions{}, CredentialsOptions{}, false},
		{"no session", nil, rejected, CredentialsOptions{}, CredentialsOptions{}, false},
	} {
		got, ok := tt.s.Renewal(tt.err, tt.o)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Renewal = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
