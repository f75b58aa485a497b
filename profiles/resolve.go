package profiles

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
)

// RunOptions say how a run finds who its credentials come from (Resolve).
type RunOptions struct {
	// Profile is the run's profile; Named says it was named (on the command line, or by
	// AWS_PROFILE), and then it is never the job's identity in its place.
	Profile string
	Named   bool
	// Ambient makes every profile the job's own identity (AV_AMBIENT, or a role to assume
	// with the job's web identity): the vault is not opened at all.
	Ambient bool
	// OpenVault opens the user's vault. An *OpenError for aws-vault's default backend (not
	// one AWS_VAULT_BACKEND chose) counts as no vault: an empty, in-memory one.
	OpenVault func(context.Context) (*Vault, error)
	// Job is where the job's identity comes from and where it is cached; its Name is
	// Profile.
	Job AmbientOptions
	// Lookup are the run profile's options; a profile named for a registry gets them
	// without Region.
	Lookup Options
}

// Run is who a run's credentials come from: a profile of the vault and the config file,
// or the job's own identity (FromJob), and the vault they are kept in.
type Run struct {
	Vault   *Vault   // the user's vault, an in-memory one (no vault), or the job's cache
	Profile *Profile // the run's profile
	FromJob bool     // the job's own identity, not the vault's
	// NoVault is why aws-vault's default backend did not open, when it did not: the run
	// went on as with an empty vault.
	NoVault *OpenError
	// Ahead counts the vault items whose keys began to be derived as the vault opened
	// (Vault.DeriveAhead).
	Ahead int

	lookup func(string) (*Profile, error)
}

// Lookup finds a profile by name, once each: the run's own, or one named for a registry.
func (r *Run) Lookup(name string) (*Profile, error) { return r.lookup(name) }

// Close lets go of what the run's identity holds: a job's cache in which the run stored
// nothing is removed (bad input leaves nothing behind).
func (r *Run) Close() { r.Vault.DropIfEmpty() }

// Resolve applies av's rule for whose credentials a run uses:
//
//   - AV_AMBIENT (Ambient): every profile is the job's own identity, as the AWS SDKs find it;
//     the profile's name only labels the run.
//   - a profile named (Named) is that profile, from the vault and the config file; without
//     a vault (aws-vault's default backend does not open) it must be in the config file.
//   - a profile not named that has no credentials of its own (no keys in the vault; no
//     source_profile, role, SSO, web identity or credential_process in its section) is the
//     job's identity where there is no vault, or the vault holds no keys at all: `av --
//     COMMAND` in CI needs no setting at all. Where the vault holds keys (a laptop), it is
//     an error (NoKeysError), and nothing is probed: a laptop's machine identity is the
//     instance metadata the SDK would wait for.
//
// A profile named for a registry is looked up by the same rule, but never falls to the job's
// identity unless Ambient says every profile does (JobIdentityError).
func Resolve(ctx context.Context, cfg *Config, o RunOptions) (*Run, error) {
	r := &Run{FromJob: o.Ambient}
	if !o.Ambient {
		if err := r.openVault(ctx, cfg, o); err != nil {
			return nil, err
		}
		if !o.Named {
			own, err := HasOwnCredentials(cfg, r.Vault, o.Profile)
			if err != nil {
				return nil, err
			}
			if !own {
				if err := r.noKeys(cfg, o.Profile); err != nil {
					return nil, err
				}
			}
			r.FromJob = !own
			if r.FromJob {
				log.Printf("profile %s was not named and has no credentials of its own: using the job's", o.Profile)
			}
		}
	}
	if !r.FromJob {
		r.lookup = cachedLookup(cfg, r.Vault, o)
		var err error
		if r.Profile, err = r.lookup(o.Profile); err != nil {
			return nil, err
		}
		return r, nil
	}
	job := o.Job
	job.Name = o.Profile
	v, run, err := OpenAmbient(ctx, cfg, job)
	var none *NoAmbientCredentialsError
	if errors.As(err, &none) && !o.Ambient {
		return nil, &NoIdentityError{Profile: o.Profile, ConfigPath: cfg.Path, InConfig: cfg.Has(o.Profile), NoVault: r.NoVault, Err: err}
	}
	if err != nil {
		return nil, err
	}
	r.Vault, r.Profile = v, run
	r.lookup = func(name string) (*Profile, error) {
		if name != run.Name && !o.Ambient {
			return nil, &JobIdentityError{Profile: name, Run: run.Name}
		}
		return run, nil
	}
	return r, nil
}

// openVault opens the user's vault into r, or an in-memory one where aws-vault's default
// backend does not open, and begins deriving the keys a warm run reads.
func (r *Run) openVault(ctx context.Context, cfg *Config, o RunOptions) error {
	v, err := o.OpenVault(ctx)
	var closed *OpenError
	if errors.As(err, &closed) && !closed.Chosen {
		// No D-Bus session in a CI job, say: no vault, as if empty. A profile named here
		// must then be in the config file.
		if o.Named && !cfg.Has(o.Profile) {
			return &NoVaultError{Profile: o.Profile, ConfigPath: cfg.Path, Vault: closed}
		}
		log.Printf("no vault: %v", err)
		r.NoVault = closed
		v, err = MemoryVault(ctx), nil
	}
	if err != nil {
		return err
	}
	r.Vault = v
	// A warm run's cost is the key derivations of the two items it reads (its tokens and
	// its session): begun now, on other cores, while the rest is got ready.
	r.Ahead = v.DeriveAhead([]string{o.Profile})
	return nil
}

// noKeys is the NoKeysError for a profile not named that has no credentials of its own,
// where the vault holds keys for other profiles: nil where it holds none.
func (r *Run) noKeys(cfg *Config, profile string) error {
	keyed, err := r.Vault.KeyedProfiles()
	if err != nil || len(keyed) == 0 {
		return err
	}
	return &NoKeysError{Profile: profile, ConfigPath: cfg.Path, InConfig: cfg.Has(profile), Keyed: keyed}
}

// cachedLookup finds the vault's profiles by name, once each: the run's with its options,
// the others (named by registry entries) with their own region.
func cachedLookup(cfg *Config, v *Vault, o RunOptions) func(string) (*Profile, error) {
	var mu sync.Mutex
	found := map[string]*Profile{}
	return func(name string) (*Profile, error) {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := found[name]; ok {
			return p, nil
		}
		opts := o.Lookup
		if name != o.Profile {
			opts.Region = ""
		}
		p, err := Lookup(cfg, v, name, opts)
		if err == nil {
			found[name] = p
		}
		return p, err
	}
}

// NoVaultError says a profile was named where there is no vault to look in (aws-vault's
// default backend does not open) and the config file does not define it.
type NoVaultError struct {
	Profile, ConfigPath string
	Vault               *OpenError
}

func (e *NoVaultError) Error() string {
	return fmt.Sprintf("profile %q is not in %s, and there is no vault to look in: the %s backend does not open", e.Profile, e.ConfigPath, e.Vault.Backend)
}

func (e *NoVaultError) Unwrap() error { return e.Vault }

// NoIdentityError says a profile that was not named has no credentials of its own, and
// the job has no identity to use instead.
type NoIdentityError struct {
	Profile, ConfigPath string
	InConfig            bool       // the config file has a section for it, which gives none
	NoVault             *OpenError // set when there was no vault either
	Err                 error      // the job's: *NoAmbientCredentialsError
}

func (e *NoIdentityError) Error() string {
	if e.NoVault != nil {
		config := "it is not in " + e.ConfigPath
		if e.InConfig {
			config = "its section of " + e.ConfigPath + " gives none"
		}
		return fmt.Sprintf("no credentials for profile %q: there is no vault (the %s backend does not open), %s, and %v", e.Profile, e.NoVault.Backend, config, e.Err)
	}
	if e.InConfig {
		return fmt.Sprintf("no credentials for profile %q: it has no keys in the vault, its section of %s gives none, and %v", e.Profile, e.ConfigPath, e.Err)
	}
	return fmt.Sprintf("no credentials for profile %q: it is not in the vault nor in %s, and %v", e.Profile, e.ConfigPath, e.Err)
}

func (e *NoIdentityError) Unwrap() error { return e.Err }

// NoKeysError says a profile that was not named has no credentials of its own, in a vault
// that holds keys for others (Keyed): the job's identity is not used in its place.
type NoKeysError struct {
	Profile, ConfigPath string
	InConfig            bool     // the config file has a section for it
	Keyed               []string // the profiles the vault holds keys for, sorted
}

func (e *NoKeysError) Error() string {
	where := "no section in " + e.ConfigPath
	if e.InConfig {
		where = "none in its section of " + e.ConfigPath
	}
	return fmt.Sprintf("profile %q has no credentials: no keys in the vault, and %s", e.Profile, where)
}

// JobIdentityError says a profile named for a registry would silently get the job's own
// identity, as the run's profile (not named, with no credentials of its own) does.
type JobIdentityError struct{ Profile, Run string }

func (e *JobIdentityError) Error() string {
	return fmt.Sprintf("profile %q, named for a registry, would get the job's own AWS identity, as profile %q does", e.Profile, e.Run)
}
