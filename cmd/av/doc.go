// Command av runs a command with an AWS profile's credentials from the aws-vault keyring
// and a throwaway registry login for Amazon ECR, and shreds that login afterwards.
//
// # Layout
//
// cmd/av owns the command line, the wiring of the packages and the one os.Exit (main.go).
// One file per command, each a kong struct with the flags it reads and a Run method:
//
//   - exec.go, av's main job (`av [PROFILE --] COMMAND`), whose run reads top to bottom as
//     four phases, each small enough to unit-test: resolve (what the words mean, and whose
//     credentials the run uses: profiles.Resolve), logIn (the profile's session and the
//     registry tokens), writeFiles (the registry files, the user's configs merged in) and
//     start (the command, under runner's Supervisor, with the renewal, env.Follow and the
//     credential endpoint beside it). What needs no secret and no network comes first, so its
//     failures come before any prompt or AWS call; the run directory is shredded on every
//     way out;
//   - add.go, clear.go, list.go, remove.go: the vault's own commands, which share how
//     they open the vault and refuse a command line (vaultcmds.go);
//   - doctor.go: av doctor's report;
//   - completion.go: the shell's completion hook, and the answers av gives it.
//
// cli.go is av's own flags (the CLI struct), the flags several commands read
// (runtimeDirFlag, vaultFlags: each command embeds those it reads, so that kong refuses
// the rest), kong's options and the one grammar of booleans; help.go is av --help, one
// screen. errors.go words every error and hint, and says how av exits;
// firstrun.go words what a new user meets first (a vault backend that does not open
// here), words.go prints names from users' files safely, ci.go masks secrets in a
// GitHub Actions log, examples.go ends every --help with examples. testonly*.go are the
// e2e scripts' panic hook, compiled in only with -tags avtestonly.
//
// # The words users see live here
//
// Flag names, hints and "run av again" are cmd/av's. The packages return typed errors
// that carry the facts (profiles.UnknownProfileError, profiles.LockTimeoutError,
// env.NoPrivateDirError, ecr.MintError…), and errors.go words them: one line
// `av: error: …` and, only when there is a concrete fix, `av: hint: …`. A command's status
// is returned as an error that carries it (ended), so that main alone decides how av
// exits, and no os.Exit elsewhere skips a deferred cleanup.
package main
