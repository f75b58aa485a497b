// Package env builds the child's environment and removes every secret it wrote: the
// throwaway directory on tmpfs and every file in it (the user's own docker, containers and
// helm configs merged with av's registry logins), the variables the child gets, the
// renewal of the files while it runs, the credential endpoint, and the shredding and the
// sweep of directories left by runs that were killed. The logins themselves come from
// env/ecr; env knows nothing of how they are minted.
//
// # Where the run directory lives
//
// Base picks, in order: the directory the user named (AV_RUNTIME_DIR, --runtime-dir), on
// any filesystem, which must be theirs with mode 0700; else $XDG_RUNTIME_DIR/av, when
// XDG_RUNTIME_DIR is set, which must be the user's, mode 0700, on tmpfs or ramfs; else, with
// XDG_RUNTIME_DIR unset, /dev/shm/av-UID (refused if someone else owns it, it is a symlink,
// or /dev/shm is not tmpfs). An unsuitable XDG_RUNTIME_DIR is refused rather than passed
// over for /dev/shm: a runtime directory on disk, or open to others, is a setup to look at,
// and /dev/shm is one AV_RUNTIME_DIR away. Nothing ever falls back to disk on its own;
// macOS has no tmpfs, so there only a directory the user names will do.
//
// The vault's lock is not kept here but with the vault (profiles), so that runs share it
// whatever their runtime directory.
//
// # The files
//
// DOCKER_CONFIG/config.json, containers-auth.json (REGISTRY_AUTH_FILE) and
// helm-registry.json (HELM_REGISTRY_CONFIG) are created mode 0600, exclusively and without
// following a symlink, and are complete before the command starts: the child never sees a
// half-written file. A renewal reads each back, merges the new logins into it (whatever the
// command changed, such as its own `docker login` elsewhere, stays) and replaces it whole:
// a new file in the same directory renamed over the old one, so a client reading it
// meanwhile gets the old file or the new one, at the same path.
//
// Before any network call, CheckRoom makes, and removes, a file of the size of what the
// run will write: its share of the user's configs and 4 KiB per registry login in each of
// the three files, twice over since a renewal writes a new file before the old one goes
// (about 50 KiB for a run with one registry; fallocate(2) takes the room on Linux, zeros
// are written on darwin). A full tmpfs so fails before STS or ECR is asked, not after. It
// reserves nothing: a directory that fills up meanwhile still fails the writes themselves.
//
// # Merging the user's configs
//
// The docker config keeps every key of the user's (proxies, current context, formats…),
// minus every auths and credHelpers entry (an ecr-login helper, say) for an injected
// host, in any of the spellings clients key by (bare host, "https://host/v1/",
// "host/repo": ecr.KeyHost), plus av's auths. It keeps no credsStore and no empty helper:
// crane, oras and helm ask a configured store before auths (CLIENTS.md), and skopeo and
// podman fail on an empty helper. So a store becomes per-host credHelpers for the hosts it
// holds (`docker-credential-NAME list`, plus the hosts in auths), minus the injected ones;
// if the helper is missing or its list fails, the hosts in auths keep it. A file with no
// auth configuration at all would make docker pick pass or secretservice by itself: av
// makes the same choice (DetectDockerStore) and keeps it the same way. Every other entry
// of the user's docker config directory (cli-plugins, contexts, buildx…) is linked into the
// run directory, so plugins and contexts behave as outside av; shredding removes the
// links, never what they point to.
//
// The containers auth file merges the files containers/image reads, first match winning
// as there (REGISTRY_AUTH_FILE alone if set, else $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.config/containers/auth.json, the docker config, then ~/.dockercfg), keeping auths and
// non-empty credHelpers only, since containers/image ignores credsStore. Helm's registry
// config is merged as the docker config is. ~/.dockercfg, the docker config of before
// config.json ({"host": login}), also makes the docker config's auths when there is no
// config.json: docker-py and docker CLIs before 28 read it only then (mergeDocker).
//
// While the command runs, Follow keeps the files in step with the user's configs: when a
// stat (every 2 s) shows one changed, or a renewal asks (a store can gain a login with no
// config.json change), it reads them and lists their stores again, outside the files'
// lock and with no terminal, and merges each file three ways (threeWay): base is the
// user's side it was last merged from (the files without av's logins, kept in memory),
// next the user's side now, cur the file as the command left it. An entry (a member, an
// auths or credHelpers entry) the user changed takes its new value unless the command
// changed it too; entries only the command changed stay. Then av's logins go in as at a
// renewal. The base is the user's side, not the file av wrote: a login made inside would
// otherwise look, at the next merge, like one the user removed.
//
// A user's file is read as every file of theirs is: a regular file of at most 4 MiB,
// opened so that a FIFO is refused, not waited on. A parse error is never quoted: it may
// quote the file, which holds credentials; only the line where it stops is named.
//
// # The child's variables
//
// The child gets the parent's environment minus every inherited credential (any would
// beat the ones av sets), the vault's passphrase, and DOCKER_AUTH_CONFIG, which docker
// 28.3+ prefers to every file av writes; then what `aws-vault exec` sets (or, with the
// credential endpoint, its URL and token instead of keys), the three registry variables
// and AV_PROFILE.
//
// # Renewal
//
// Renew replaces the files MinTTL before the earliest token expires; for tokens that live
// less than twice MinTTL, half-way through their remaining life instead, since a new token
// with less than MinTTL left would otherwise be renewed at once, again and again. It gets
// tokens through the token cache, where another av may already have put them, and never
// prompts. A failure is reported and retried after 5 s, doubling up to 5 minutes; the
// command is never disturbed. The AWS credentials in the command's environment cannot be
// renewed (a process's environment is fixed once it starts); the credential endpoint is
// what outlives them.
//
// # The credential endpoint
//
// CredentialServer is written here rather than taken from aws-vault's server package,
// whose token is shorter than 32 bytes and compared in variable time, whose wrong token
// gets 403, and whose credentials come from a provider of its own rather than av's session
// cache and vault lock. It is under 200 lines of net/http.
//
// # Shredding
//
// When the command ends, the files av wrote are overwritten with zeros and synced,
// everything in the directory is unlinked, then the directory is removed. A file is
// overwritten only if it is still the one av wrote: the device and inode recorded when it
// was written, one link, and no larger than what was written. A killed run's records die
// with it, so its sweep goes by av's file names, one link, and at most 16 MiB, the most av
// writes into a file. Whatever else is there is only unlinked, never opened for writing nor
// followed: a hard link to one of the user's files (which keeps its contents), a file
// renamed over av's, a sparse terabyte, FIFOs, sockets, device nodes, symlinks.
// Overwriting goes in 64 KiB chunks; directories are walked by descriptor, so no depth is
// too deep, and one whose permissions were taken away gets 0700 back first.
//
// On tmpfs the data never reaches a disk, and unlinking already frees the pages: the
// zeroing guards against something that still holds a file open. It does not reach copies
// the command made, nor swap if tmpfs pages were swapped out.
//
// # Killed runs: the directory's lock and the sweep
//
// Each run holds an exclusive flock on its directory, and every av start removes the
// directories whose lock is free: runs killed before they could clean up. The command
// inherits the lock as descriptor 3 (the directory, open read-only), and so do the
// processes it starts unless they close it. A flock lasts while any process holds it, so
// no sweep takes the files from under a command, or a job it left running, even once av
// is gone.
package env
