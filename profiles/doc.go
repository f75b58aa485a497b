// Package profiles turns a profile name into AWS credentials as aws-vault v7 does: the AWS
// config file, the encrypted vault (keyring), STS sessions, MFA and aws-vault's session
// cache. It is the only package that imports aws-vault and keyring.
//
// # The vault and its lock
//
// A Vault guards itself: callers never wrap it in a lock of theirs. Its lock has two
// halves, taken together by Vault.Lock for a Section and let go by its Unlock: within the
// process, the turn channel, which lets one Section at a time in; across processes,
// flock(2) on the vault's lock file (vaultLock), shared for reads and exclusive for
// writes. A read or write made outside a Section (Vault.HasCredentials, the keyring that
// av list and aws-vault's types read through) is a Section of its own, for that one call.
// Sections do not nest, and none is held across a fetch: no AWS call, helper or prompt
// runs while a run holds the vault's lock, shared or exclusive. The file backend's
// passphrase, which keyring asks for at its first decrypt, is asked for before the first
// Section of a credentials lookup (Vault.passphraseFirst; av add asks in ReadyToWrite).
// The exclusive lock is held only to write and remove items; with the pass backend that
// runs pass and gpg, which av runs as keyring would but bounded as a helper is
// (passCommands: VaultOptions.HelperTimeout, --aws-timeout).
//
// A fetch (a session, a profile's registry tokens) holds instead the fetch lock of the one
// item it fills (fetchlock.go): its own turn within the process, and flock(2) on a file
// of its own beside the vault's lock file, named after a digest of the item's name
// (".keys.av-lock.fetch-<hash>.lock", ".vault-<hash>.fetch-<hash>.lock"), which holds the
// holder's pid, the profile and what the fetch waits for ("its credential_process", "its
// MFA code", "STS in eu-west-1"; FetchHold notes it as the fetch goes), never a secret. So
// a hung helper, an unreachable endpoint or a person at an MFA prompt holds up only the
// runs that want that same item: a run of another profile, cached or cold, goes on. A
// fetch that needs another item takes that item's lock after its own, outer first: a
// role's session before its source's, an identity's registry tokens (several in the
// order of their keys) before its session. Nothing holds an inner lock while it awaits an
// outer one, and a Section is never held while a fetch lock is awaited, so no two waits
// make a cycle. The token renewal and the credential endpoint of one run share one Vault:
// the turns keep them out of each other's fetch of the same item, as the flock keeps out
// other processes.
//
// Never wait for a lock while holding Profile.mu (see Profile.keep): a token renewal
// holds its tokens' fetch lock and asks the profile for its session, while the credential
// endpoint asks the profile, which then takes the session's fetch lock and the vault's; a
// mutex held across that wait would deadlock the two. Profile.mu guards the last session
// alone, and two calls that miss together are made one by the session's fetch lock.
//
// The lock belongs to the vault, not to a run: every av on one vault takes one lock,
// whatever its --runtime-dir and whichever path names the vault (a file vault's directory
// is resolved through symlinks first); so do its fetch locks, which sit beside it.
// placeLock in lock.go is the one rule for where the lock file goes, and its doc states
// it; cmd/av only passes the places it may use (LockPlaces) and decides nothing. What the
// rule weighs: the file holds no secret (only the pid of an exclusive holder, for a
// waiter's message), so any filesystem will do; it must not sit where another user can
// make or replace a file, who could then hold the lock and stop every run; and a file
// vault's lock sits beside the vault, never inside (keyring takes every entry of its
// directory for an item). A CI job's own cache (OpenAmbient) is not the user's vault, and
// keeps its lock beside it, in the run's runtime directory.
//
// The vault's lock file stays once made, empty: every run takes it twice, and a file made
// and removed each time cost an ext4 home an inode search past each one just freed. A fetch
// lock's file exists only while someone holds or awaits it: the last holder removes it
// (vaultLock.release), and a waiter that finds it gone once it gets the lock opens the new
// one; one left by a holder that was killed goes with the next holder. The kernel
// drops a flock when its holder dies, even by SIGKILL, and the descriptor is
// close-on-exec, so neither a killed av nor the command it started leaves the vault, or
// an item, locked. A wait ends with the run's context and is bounded by
// VaultOptions.LockTimeout (DefaultLockTimeout, 2 minutes: a holder may be waiting for a
// person's MFA code); LockTimeoutError names the holders, from /proc/locks on Linux, else
// from the pid the holder wrote into the file, and for a fetch lock the item, its profile
// and what the holder waits for.
//
// Every cache in the vault, aws-vault's sessions (Profile.Credentials) and av's registry
// tokens (env/ecr's TokenCache), is a double-checked lock. A run looks first in a shared
// Section, calling no AWS service, so a warm run shares the vault with every other reader;
// only if something is missing does it take the missing item's fetch lock, look again
// (another run may have stored it meanwhile), fetch what is still missing holding no lock
// on the vault, and store it in an exclusive Section of its own. For a session this is
// cachedSession, av's port of aws-vault's CachedSessionProvider, at each cached step of
// the chain. Of N avs started together on a cold cache, one calls STS and ECR (and asks
// for one MFA code) while the others wait, then read what it stored.
//
// The MFA prompt is bound per call (chain.mfa). aws-vault finds a prompt method by name
// in a global table (prompt.Methods) when its Mfa is made, and takes no function
// otherwise; so each chain enters a prompt of its own into the table, under its own
// name, for the moment vault.NewMfa looks it up (promptMethods guards the table), and the
// Mfa keeps that function. The end of the call's context ends that prompt (Ctrl-C), and a
// call with NoPrompt (a renewal while the command has the terminal) gets ErrNeedsMFA
// instead of a prompt. Two calls at once, a renewal and the credential endpoint, never
// get each other's prompt.
//
// # Whose credentials a run uses
//
// Resolve holds the rule, and its doc states it: AV_AMBIENT makes every profile the job's
// own identity; a profile named (on the command line, or by AWS_PROFILE) is that profile,
// from the vault and the config file, never another identity in its place; a profile not
// named that has no credentials of its own (HasOwnCredentials) is the job's identity where
// there is no vault or the vault holds no keys at all, so that `av -- COMMAND` in CI needs
// no setting, and an error (NoKeysError) where the vault holds keys, so that a laptop
// never probes its instance metadata for want of a profile; a profile named for a registry
// never falls to the job's identity unless AV_AMBIENT says every profile does. aws-vault's
// default backend not opening (no D-Bus session in a CI job) counts as an empty vault; a
// backend AWS_VAULT_BACKEND names that does not open is an error. TestResolve
// (resolve_test.go) checks the rule row by row, on a laptop and in CI. Its failures are typed
// (NoVaultError, NoIdentityError, NoKeysError, JobIdentityError), and cmd/av words them.
//
// # The session cache, shared with aws-vault
//
// Sessions (GetSessionToken, AssumeRole with MFA, SSO role credentials, web identity,
// credential_process) are cached in aws-vault's own session cache, read and written
// through aws-vault's CachedSessionProvider and SessionKeyring with aws-vault's expiry
// window (AWS_MIN_TTL, default 5 minutes): one cache, one freshness rule, shared with
// aws-vault in both directions. env/ecr's item holds registry tokens only, no copy of a
// session. Master keys (--no-session) are never copied anywhere: they are read from their
// own item on each call, and Credentials keeps only sessions that expire.
//
// A role assumed without MFA, which aws-vault assumes again on every run and never
// caches, is cached under av's own session type (roleSessionType, "av.sts.AssumeRole"),
// so that make -j8 assumes it once. It is keyed by the profile's identity digest where
// aws-vault's sessions have the MFA serial, so a changed role_arn is never served the old
// role's session; and its name has the shape of aws-vault's (CacheKey), so aws-vault
// lists it, and clears it with the profile's sessions.
//
// A warm run so decrypts two items, its registry tokens and its session; the file
// backend's key derivation (below) is what keeps that cheap.
//
// # Whole items, and damaged ones
//
// With the file backend av writes items whole (Vault.setWhole): keyring writes the new
// item into a scratch directory beside the vault's (never inside: keyring takes every
// entry of its directory for an item), and it is renamed over the old one, so a reader
// that takes no lock (aws-vault) never sees a truncated item. aws-vault itself rewrites
// items in place: an av read that overlaps such a write gets an item that does not
// decrypt, so a file item that does not decrypt is read again, twice, a moment apart
// (decodeRetries). aws-vault's session reads remove expired sessions as they go; removing
// is an unlink, which a reader sees whole or not at all, so a shared hold allows it.
//
// An item that still does not decrypt is damaged (ErrDamagedItem) when the passphrase is
// known to be right: another item has decrypted in this run, or does now
// (Vault.passphraseRight tries three at most, master keys first, as the items rewritten
// least often). When no other item decrypts, a damaged item cannot be told from a wrong
// passphrase (ErrVaultLocked). A damaged cache item is a miss: ReadCache removes av's own
// registry tokens, to be minted again, rather than block the profile until `av clear`;
// and aws-vault's CachedSessionProvider takes any failed read of a session (aws-vault's,
// or a role session of av's) for a miss, fetches it again and replaces the item. A
// profile's damaged master keys, which are no cache, are an ItemError naming the item,
// which cmd/av words with a hint to add the keys again. Every error names an item by its
// key, never its content: a decrypt or parse error may quote the item.
//
// # The file backend's key
//
// keyring encrypts each file item as a JWE under a key derived from the passphrase
// (PBES2-HS256+A128KW: PBKDF2-HMAC-SHA256, 8192 rounds, a salt of its own per item), and
// that derivation is a warm run's costliest step. av derives it with Go's standard PBKDF2
// (package pbes2; filekeys.go registers it with jose2go in place of jose2go's own): 1.6 ms
// here against 2.1 ms for jose2go's, the same key, so av and aws-vault read and write each
// other's items. An item's header may ask for any number of rounds; pbes2.Params bounds
// them, so a damaged or hostile item cannot cost hours.
//
// Once Resolve has the run's profile name, the items the run will read are known: the
// newest live av item and aws-vault session of each profile (Vault.DeriveAhead, from the
// directory's listing and the items' headers, never their contents). av begins deriving
// their keys, two at most (pbes2.MaxAhead), one goroutine each, and goes on with the
// profile's lookup; each decrypt then takes the key derived ahead, or derives it itself
// if the item was replaced meanwhile (keys are matched by passphrase, salt and rounds). A
// wrong guess costs one derivation on a spare core.
//
// The items a warm run reads share one key, so that it derives one, not two: av wraps each
// item it writes with the key of the last item it read or wrote under the same passphrase,
// under that item's salt (pbes2.Reuse). A cold run reads the master keys, then writes the
// session and the registry tokens with the master keys' key; a run whose session was cached
// writes its tokens with the session's. Only a session aws-vault wrote has a salt of its
// own, and costs its own derivation. No protection is lost: every item of a vault is
// under the one passphrase, so a guess of it that opens one item opens all, whatever their
// salts; salts stay random per vault, so no precomputation serves two vaults; and each
// item keeps a content key of its own. It happens only with the file backend
// and the passphrase at hand (AWS_VAULT_FILE_PASSPHRASE, or already asked for); the keys
// stay in av's memory, as the passphrase does. Nothing of this runs before main: no
// package of av starts goroutines, reads files or parses os.Args while it initialises (an
// earlier version guessed the profile from the command line in an init; that guess is
// gone).
//
// # Differences from aws-vault v7.2.0
//
// The chain of providers (credentials.go) is a port of aws-vault's
// vault.NewTempCredentialsProvider, so that its clients come from the SDK's config and av
// can put its own gates in it. TestChainIsAWSVaults (differential_test.go) builds both
// chains for the same config and vault and fails on any difference it does not name; it
// names the first five below. Each line: what av does; what aws-vault does; why.
//
//   - A role assumed without MFA (a role with no mfa_serial, or one assumed with its source's
//     MFA session) is cached, under the type "av.sts.AssumeRole" and keyed by the profile's
//     identity digest; aws-vault caches no such session and assumes the role on every run;
//     so that make -j8 assumes it once, and a changed role_arn is never served the old
//     role's session.
//
//   - With no terminal, or renewing while the command runs (CredentialsOptions.NoPrompt),
//     an SSO profile with no cached SSO token fails with SSOLoginError; aws-vault opens a
//     browser and waits for a person to approve; nobody is there to.
//
//   - A profile that names no region (one kept only in the vault, say) calls STS in
//     us-east-1; aws-vault builds its clients with no region, and the SDK refuses their
//     calls; STS answers in any region.
//
//   - The clients honour the SDK's endpoint settings (AWS_ENDPOINT_URL,
//     AWS_ENDPOINT_URL_<SERVICE>, the profile's endpoint_url and services section);
//     aws-vault's hand-built aws.Config ignores them; for LocalStack, VPC endpoints and the
//     tests' AWS stand-in.
//
//   - sts_regional_endpoints = legacy (and AWS_STS_REGIONAL_ENDPOINTS) is ignored: STS is
//     called at its regional endpoint; aws-vault sends the calls of 16 regions to
//     sts.amazonaws.com; the SDK's config has dropped the setting, and AWS recommends the
//     regional endpoints.
//
//   - The MFA prompt is av's ("av-terminal", prompt.go), on /dev/tty, ended by Ctrl-C;
//     aws-vault's "terminal" prompt reads in a raw mode that nothing interrupts.
//     AWS_VAULT_PROMPT's other methods are aws-vault's own.
//
//   - Renewing while the command runs, an MFA code is never asked for (ErrNeedsMFA) and a
//     --mfa-token code is not sent again (mfa_process still runs); aws-vault prompts
//     whenever a session needs a code; the command has the terminal, and AWS refuses a
//     code used once.
//
//   - Every AWS call is bounded (Options.AWSTimeout, TimeoutError), and a failed one names
//     its service and region; aws-vault's calls have the SDK's defaults, no deadline.
//
//   - The session cache is read holding the vault's lock shared, and a session fetched
//     holding its fetch lock after looking again, and stored holding the vault's lock
//     exclusive; aws-vault takes no lock, so N runs started together each call STS (and
//     each ask for an MFA code).
//
//   - A cached session that AWS rejects (a rotated key, a revoked session) is dropped and
//     the chain fetched again, once; aws-vault keeps serving it until it expires.
//
//   - A source_profile loop is an error; aws-vault's ConfigLoader recurses until the stack
//     runs out.
//
//   - A duration_seconds with a unit ("1h") is an error; aws-vault's ini reader panics.
//
//   - A missing config file is an empty config; aws-vault creates ~/.aws/config.
//
//   - Ambient credentials (OpenAmbient: keys in the environment, a CI job's web identity,
//     container or instance credentials) have no aws-vault counterpart.
//
//   - credential_process, web_identity_token_process and mfa_process are run by av
//     (helper.run: credentialProcess, webIdentity, chain.mfa), under the call's context:
//     bounded (Options.AWSTimeout; mfa_process by MFAProcessTimeout, as it may wait for a
//     person), killed with their process group on Ctrl-C, SIGTERM or the bound, and a
//     process they leave behind holding stdout holds av a second at most; aws-vault runs
//     them with exec.Command and no context. The process, its protocol and its
//     environment are aws-vault's.
//
// A session is fetched holding no lock on the vault (its fetch lock only), so a helper
// that hangs within its bound, or a person at an MFA prompt, holds up only the runs that
// want the same session (or registry tokens); runs of other profiles go on. aws-vault
// takes no lock, so nothing of its own waits. The pass backend's reads and writes run pass
// as keyring's backend would, but bounded (passCommands): a write by HelperTimeout
// (--aws-timeout), a read, whose gpg may wait for a person at its pinentry, by
// MFAProcessTimeout at least; a read holds the vault's lock shared meanwhile, so other
// runs' reads go on and their writes wait (at most --lock-timeout).
package profiles
