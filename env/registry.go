package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
)

// Files are the paths the child's clients read, all inside the run directory.
type Files struct {
	DockerConfig string // a directory holding config.json (DOCKER_CONFIG)
	AuthFile     string // containers-auth.json (REGISTRY_AUTH_FILE)
	HelmConfig   string // helm's registry config (HELM_REGISTRY_CONFIG)

	own   *written   // the run directory's record of what av wrote (Dir.own)
	state *fileState // what the files were last merged from; nil for Files made by hand
}

// FilesOptions say what goes into the registry files.
type FilesOptions struct {
	Logins      ecr.Logins
	User        UserFiles     // the user's own configs (ReadUserConfig), merged in
	ListStore   StoreLister   // lists a credential helper's registries; nil means ListCredentialStore
	DetectStore func() string // the store docker would detect for a config with no auth; nil means DetectDockerStore
}

// fileState is what the run's registry files were last merged from. Every copy of a Files
// shares it, and it guards itself: the renewal (Files.Renew) and Follow both replace the
// files, one at a time.
type fileState struct {
	mu     sync.Mutex
	logins ecr.Logins // av's logins, as the files last got them
	user   UserConfig // where the user's configs are
	stamps []fileStamp
	sides  userSides     // the user's side of each file, as last merged
	detect func() string // FilesOptions.DetectStore
	relist chan struct{} // a renewal asks Follow to list the user's stores again
}

// userSides are the run's three files as the user's configs alone make them, without av's
// logins: the base Follow merges the user's later changes against (threeWay).
type userSides struct{ docker, auth, helm []byte }

// makeSides merges the user's configs into the three files' user sides (mergeDocker,
// MergeAuthFiles), and returns notes for --debug.
func makeSides(u UserFiles, list StoreLister, detect func() string) (userSides, []string, error) {
	// docker's config and helm's may both ask which store docker would detect: one search
	// of PATH answers both (a stat per PATH entry and name, on every warm run).
	detect = sync.OnceValue(detect)
	var s userSides
	var legacy []byte
	if u.Docker == nil {
		legacy = u.Legacy // no config.json: the clients that know ~/.dockercfg read it
	}
	docker, err := mergeDocker(u.Docker, legacy, nil, list, detect)
	if err != nil {
		// Never the parse error itself: it may quote the file, which holds credentials.
		return s, nil, &UserConfigError{u.DockerConfigPath(), err}
	}
	if s.auth, err = MergeAuthFiles(u.AuthBase(), nil); err != nil {
		return s, nil, fmt.Errorf("your containers auth files (%s): %w", strings.Join(u.AuthFiles, ", "), err)
	}
	helm, err := MergeDockerConfig(u.Helm, nil, list, detect)
	if err != nil {
		return s, nil, &UserConfigError{u.HelmFile, err}
	}
	s.docker, s.helm = docker.Config, helm.Config
	return s, append(docker.Notes, helm.Notes...), nil
}

// noStore is the store docker detects for a file of av's: none, as it always has auths.
func noStore() string { return "" }

// dockerLogins puts logins in a docker or helm config (MergeDockerConfig). list is asked
// only for a config that has a credsStore: one the command put in a run's file.
func dockerLogins(config []byte, logins ecr.Logins, list StoreLister) ([]byte, error) {
	m, err := MergeDockerConfig(config, logins, list, noStore)
	return m.Config, err
}

// authLogins puts logins in a containers auth file (MergeAuthFiles).
func authLogins(config []byte, logins ecr.Logins, _ StoreLister) ([]byte, error) {
	return MergeAuthFiles([][]byte{config}, logins)
}

// runFiles are the three registry files: their names in the run directory, the user's
// side each is made from, and how av's logins go in.
var runFiles = []struct {
	name   func(Files) string
	side   func(*userSides) *[]byte
	logins func(config []byte, logins ecr.Logins, list StoreLister) ([]byte, error)
}{
	{func(f Files) string { return filepath.Join(f.DockerConfig, "config.json") }, func(s *userSides) *[]byte { return &s.docker }, dockerLogins},
	{func(f Files) string { return f.AuthFile }, func(s *userSides) *[]byte { return &s.auth }, authLogins},
	{func(f Files) string { return f.HelmConfig }, func(s *userSides) *[]byte { return &s.helm }, dockerLogins},
}

// withLogins is each of the user's sides with av's logins in it.
func withLogins(sides userSides, logins ecr.Logins, list StoreLister) (userSides, error) {
	var out userSides
	for _, r := range runFiles {
		data, err := r.logins(*r.side(&sides), logins, list)
		if err != nil {
			return out, err
		}
		*r.side(&out) = data
	}
	return out, nil
}

// WriteRegistryFiles writes the docker, containers and helm files: the user's own configs
// merged with av's logins (MergeDockerConfig, MergeAuthFiles), each mode 0600, created
// exclusively and complete before it returns, so the child never sees a half-written file.
// It returns notes for --debug.
func (d *Dir) WriteRegistryFiles(o FilesOptions) (Files, []string, error) {
	f := Files{
		DockerConfig: filepath.Join(d.Path, "docker"),
		AuthFile:     filepath.Join(d.Path, "containers-auth.json"),
		HelmConfig:   filepath.Join(d.Path, "helm-registry.json"),
		own:          d.own,
	}
	if o.ListStore == nil {
		o.ListStore = ListCredentialStore
	}
	if o.DetectStore == nil {
		o.DetectStore = DetectDockerStore
	}
	sides, notes, err := makeSides(o.User, o.ListStore, o.DetectStore)
	if err != nil {
		return Files{}, nil, err
	}
	data, err := withLogins(sides, o.Logins, o.ListStore)
	if err != nil {
		return Files{}, nil, err
	}
	if err := os.Mkdir(f.DockerConfig, 0o700); err != nil {
		return Files{}, nil, fmt.Errorf("creating the docker config directory: %w", err)
	}
	if err := f.own.writeExclusive(filepath.Join(f.DockerConfig, "config.json"), data.docker); err != nil {
		return Files{}, nil, fmt.Errorf("writing config.json: %w", err)
	}
	ensureDockerState(o.User.DockerDir)
	if err := linkDockerDir(o.User.DockerDir, f.DockerConfig); err != nil {
		return Files{}, nil, err
	}
	if err := f.own.writeExclusive(f.AuthFile, data.auth); err != nil {
		return Files{}, nil, fmt.Errorf("writing %s: %w", filepath.Base(f.AuthFile), err)
	}
	if err := f.own.writeExclusive(f.HelmConfig, data.helm); err != nil {
		return Files{}, nil, fmt.Errorf("writing %s: %w", filepath.Base(f.HelmConfig), err)
	}
	f.state = &fileState{
		logins: o.Logins, user: o.User.UserConfig, stamps: o.User.stamps, sides: sides,
		detect: o.DetectStore, relist: make(chan struct{}, 1),
	}
	return f, notes, nil
}

// UnwritableDirError says the run directory cannot take the files the run will write
// (a full tmpfs, a read-only filesystem, a file size limit).
type UnwritableDirError struct {
	Path string
	Err  error
}

func (e *UnwritableDirError) Error() string {
	return fmt.Sprintf("the run directory %s cannot be written: %v", e.Path, e.Err)
}
func (e *UnwritableDirError) Unwrap() error { return e.Err }

// loginRoom is what one registry login may take in each file: an ECR token is about 2.5
// KiB of base64, plus its JSON.
const loginRoom = 4 << 10

// CheckRoom makes sure, before any network call, that the directory can take the files a
// run with these user configs and this many registries will write, and rewrite once when
// renewed: it takes that much room for a file (reserve) and removes it. A full tmpfs is
// then reported before minting, not after. It reserves nothing: a directory that fills
// up meanwhile still fails the writes themselves.
func (d *Dir) CheckRoom(u UserFiles, registries int) error {
	size := len(u.Docker) + len(u.Helm) + 2*len(u.Legacy)
	for _, a := range u.Auth {
		size += len(a)
	}
	// Three files, each with every login and a page of its own; twice, as a renewal
	// writes a new file before the old one goes.
	size = 2 * (size + 3*(registries*loginRoom+4<<10))
	f, err := createExclusive(filepath.Join(d.Path, ".room"))
	if err != nil {
		return &UnwritableDirError{d.Path, err}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := reserve(f, size); err != nil {
		return &UnwritableDirError{d.Path, err}
	}
	if err := f.Close(); err != nil {
		return &UnwritableDirError{d.Path, err}
	}
	return nil
}

// writeZeros writes size zeros to f, in chunks.
func writeZeros(f *os.File, size int) error {
	for left := size; left > 0; {
		n, err := f.Write(zeros[:min(left, len(zeros))])
		if err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// FileTooLargeError says a registry file would be larger than av writes any file
// (maxRegistryFile): Shred would not overwrite it.
type FileTooLargeError struct{ Size int }

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("it would be %d MiB, more than the %d MiB av writes", e.Size>>20, maxRegistryFile>>20)
}

// writeExclusive creates path with data, and records it as av's.
func (w *written) writeExclusive(path string, data []byte) error {
	_, err := w.writeNew(path, data, func() (*os.File, error) { return createExclusive(path) })
	return err
}

// createExclusive creates path, mode 0600, where nothing is, not even a symbolic link,
// outside Go's poller (profiles.OpenFD): a warm run creates four such files.
func createExclusive(path string) (*os.File, error) {
	fd, err := profiles.OpenFD(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// writeNew writes data, at most maxRegistryFile bytes (Shred overwrites no more), to a new
// mode-0600 file that create makes, records it as av's file at path, closes it, and
// returns its name.
func (w *written) writeNew(path string, data []byte, create func() (*os.File, error)) (string, error) {
	if len(data) > maxRegistryFile {
		return "", &FileTooLargeError{len(data)}
	}
	f, err := create()
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = w.add(path, f, len(data))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}
