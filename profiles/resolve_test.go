package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestResolve is the README's rule for whose credentials a run uses, row by row, on a
// laptop (a vault) and in CI (no vault, the job's own identity).
func TestResolve(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, v := range []string{"AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_SESSION_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	writeConfig(t, "[profile dev]\nregion = eu-west-1\n[profile cp]\ncredential_process = false\n[default]\nregion = us-east-2\n")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("a.web.token"), 0o600); err != nil {
		t.Fatal(err)
	}

	noVault := func(context.Context) (*Vault, error) {
		return nil, &OpenError{Backend: "secret-service", Err: errors.New("no session bus")}
	}
	chosenFails := func(context.Context) (*Vault, error) {
		return nil, &OpenError{Backend: "pass", Chosen: true, Err: errors.New("no gpg key")}
	}
	empty := func(ctx context.Context) (*Vault, error) { return MemoryVault(ctx), nil }
	withKeys := func(ctx context.Context) (*Vault, error) {
		v := MemoryVault(ctx)
		for _, p := range []string{"default", "dev"} {
			if err := v.credentials().Set(p, aws.Credentials{AccessKeyID: "AKIAVAULT" + p, SecretAccessKey: "s"}); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	devKeys := func(ctx context.Context) (*Vault, error) {
		v := MemoryVault(ctx)
		return v, v.credentials().Set("dev", aws.Credentials{AccessKeyID: "AKIAVAULTdev", SecretAccessKey: "s"})
	}
	never := func(context.Context) (*Vault, error) {
		t.Error("the vault was opened where every profile is the job's")
		return nil, errors.New("opened")
	}

	type want struct {
		fromJob  bool
		noVault  bool
		profile  string
		err      any // a pointer to the error type expected
		otherErr any // what Lookup("dev") gives, when the run is the job's (nil: dev itself)
	}
	for _, tc := range []struct {
		name    string
		o       RunOptions
		jobKeys bool
		webID   bool
		want    want
	}{
		{"CI, no vault, no profile named: the job's", RunOptions{Profile: "default", OpenVault: noVault}, true, false,
			want{fromJob: true, noVault: true, profile: "default", otherErr: new(*JobIdentityError)}},
		{"CI, no vault, a named profile the config file lacks", RunOptions{Profile: "prod", Named: true, OpenVault: noVault}, true, false,
			want{err: new(*NoVaultError)}},
		{"CI, no vault, a named profile with a credential_process", RunOptions{Profile: "cp", Named: true, OpenVault: noVault}, true, false,
			want{noVault: true, profile: "cp"}},
		{"CI, no vault and no job identity", RunOptions{Profile: "default", OpenVault: noVault}, false, false,
			want{err: new(*NoIdentityError)}},
		{"a backend AWS_VAULT_BACKEND chose that does not open", RunOptions{Profile: "default", OpenVault: chosenFails}, true, false,
			want{err: new(*OpenError)}},
		{"an empty vault, no profile named: the job's", RunOptions{Profile: "default", OpenVault: empty}, true, false,
			want{fromJob: true, profile: "default", otherErr: new(*JobIdentityError)}},
		{"an empty vault and no job identity", RunOptions{Profile: "default", OpenVault: empty}, false, false,
			want{err: new(*NoIdentityError)}},
		{"a vault with keys for default: the vault's, not the job's", RunOptions{Profile: "default", OpenVault: withKeys}, true, false,
			want{profile: "default"}},
		{"a vault with keys for others, none for default, no profile named: an error, not the job's", RunOptions{Profile: "default", OpenVault: devKeys}, true, false,
			want{err: new(*NoKeysError)}},
		{"a named profile with keys in the vault", RunOptions{Profile: "dev", Named: true, OpenVault: withKeys}, true, false,
			want{profile: "dev"}},
		{"a named profile in neither", RunOptions{Profile: "prdo", Named: true, OpenVault: withKeys}, true, false,
			want{err: new(*UnknownProfileError)}},
		{"a named profile with no keys, in an empty vault: never the job's", RunOptions{Profile: "dev", Named: true, OpenVault: empty}, true, false,
			want{profile: "dev"}},
		{"AV_AMBIENT: every profile is the job's, the vault unopened", RunOptions{Profile: "dev", Named: true, Ambient: true, OpenVault: never}, true, false,
			want{fromJob: true, profile: "dev"}},
		{"AV_AMBIENT with no job identity", RunOptions{Profile: "dev", Named: true, Ambient: true, OpenVault: never}, false, false,
			want{err: new(*NoAmbientCredentialsError)}},
		{"--role-arn: the job's web identity, the vault unopened", RunOptions{Profile: "dev", Named: true, Ambient: true, OpenVault: never, Job: AmbientOptions{RoleARN: "arn:aws:iam::123456789012:role/ci"}}, false, true,
			want{fromJob: true, profile: "dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
			if tc.jobKeys {
				t.Setenv("AWS_ACCESS_KEY_ID", "AKIAJOBKEYS")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "job-secret")
			}
			if tc.webID {
				t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token)
			}
			run, err := Resolve(context.Background(), cfg, tc.o)
			if tc.want.err != nil {
				target := tc.want.err
				if err == nil || !errors.As(err, target) {
					t.Fatalf("Resolve = %v, want an error of type %T", err, target)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			defer run.Close()
			if run.FromJob != tc.want.fromJob || (run.NoVault != nil) != tc.want.noVault || run.Profile.Name != tc.want.profile {
				t.Errorf("FromJob %v, NoVault %v, profile %q; want %v, %v, %q", run.FromJob, run.NoVault != nil, run.Profile.Name, tc.want.fromJob, tc.want.noVault, tc.want.profile)
			}
			if (run.Profile.AmbientSource() != "") != run.FromJob {
				t.Errorf("the profile's source %q does not match FromJob %v", run.Profile.AmbientSource(), run.FromJob)
			}
			// A profile named for a registry: the job's only where every profile is.
			other, err := run.Lookup("dev")
			switch {
			case tc.want.otherErr != nil:
				if !errors.As(err, tc.want.otherErr) {
					t.Errorf("Lookup(dev) = %v, want an error of type %T", err, tc.want.otherErr)
				}
			case err != nil:
				t.Errorf("Lookup(dev): %v", err)
			case tc.o.Ambient && other != run.Profile:
				t.Errorf("with AV_AMBIENT, Lookup(dev) is not the run's one identity")
			}
			if again, _ := run.Lookup(run.Profile.Name); again != run.Profile {
				t.Errorf("Lookup of the run's profile gave another *Profile")
			}
		})
	}
}

// Where the job has no identity either, the error says what the config file has for the
// profile: a section that gives no credentials is not "not in the config file".
func TestNoIdentityErrorNamesTheSection(t *testing.T) {
	none := &NoAmbientCredentialsError{}
	for _, tc := range []struct {
		e    *NoIdentityError
		want string
	}{
		{&NoIdentityError{Profile: "default", ConfigPath: "/h/config", Err: none}, "it is not in the vault nor in /h/config"},
		{&NoIdentityError{Profile: "default", ConfigPath: "/h/config", InConfig: true, Err: none}, "it has no keys in the vault, its section of /h/config gives none"},
		{&NoIdentityError{Profile: "default", ConfigPath: "/h/config", InConfig: true, NoVault: &OpenError{Backend: "keyctl"}, Err: none}, "its section of /h/config gives none"},
	} {
		if got := tc.e.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q does not say %q", tc.e, got, tc.want)
		}
	}
}
