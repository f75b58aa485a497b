package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/av-cli/av/env/ecr"
)

// Files are the paths the child's clients read, all inside the run directory.
type Files struct {
	DockerConfig string // a directory holding config.json (DOCKER_CONFIG)
	AuthFile     string // containers-auth.json (REGISTRY_AUTH_FILE)
	HelmConfig   string // helm's registry config (HELM_REGISTRY_CONFIG)

	own *written // the run directory's record of what av wrote (Dir.own)
}

// FilesOptions say what goes into the registry files.
type FilesOptions struct {
	Logins      ecr.Logins
	User        UserFiles     // the user's own configs (ReadUserConfig), merged in
	ListStore   StoreLister   // lists a credential helper's registries; nil means ListCredentialStore
	DetectStore func() string // the store docker would detect for a config with no auth; nil means DetectDockerStore
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
	if err := os.Mkdir(f.DockerConfig, 0o700); err != nil {
		return Files{}, nil, fmt.Errorf("creating the docker config directory: %w", err)
	}
	var notes []string

	var legacy []byte
	if o.User.Docker == nil {
		legacy = o.User.Legacy // no config.json: the clients that know ~/.dockercfg read it
	}
	docker, err := mergeDocker(o.User.Docker, legacy, o.Logins, o.ListStore, o.DetectStore)
	if err != nil {
		// Never the parse error itself: it may quote the file, which holds credentials.
		return Files{}, nil, fmt.Errorf("your config %s: %w", o.User.DockerConfigPath(), err)
	}
	notes = append(notes, docker.Notes...)
	if err := f.own.writeExclusive(filepath.Join(f.DockerConfig, "config.json"), docker.Config); err != nil {
		return Files{}, nil, fmt.Errorf("writing config.json: %w", err)
	}
	ensureDockerState(o.User.DockerDir)
	if err := linkDockerDir(o.User.DockerDir, f.DockerConfig); err != nil {
		return Files{}, nil, err
	}

	auth, err := MergeAuthFiles(o.User.AuthBase(), o.Logins)
	if err != nil {
		return Files{}, nil, fmt.Errorf("your containers auth files (%s): %w", strings.Join(o.User.AuthFiles, ", "), err)
	}
	if err := f.own.writeExclusive(f.AuthFile, auth); err != nil {
		return Files{}, nil, fmt.Errorf("writing %s: %w", filepath.Base(f.AuthFile), err)
	}

	helm, err := mergeUserDocker(o.User.HelmFile, o.User.Helm, o)
	if err != nil {
		return Files{}, nil, err
	}
	if err := f.own.writeExclusive(f.HelmConfig, helm.Config); err != nil {
		return Files{}, nil, fmt.Errorf("writing %s: %w", filepath.Base(f.HelmConfig), err)
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
// renewed: it writes a file that size (zeros, in chunks) and removes it. A full tmpfs is
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
	f, err := os.OpenFile(filepath.Join(d.Path, ".room"), os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return &UnwritableDirError{d.Path, err}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	for left := size; left > 0; {
		n, err := f.Write(zeros[:min(left, len(zeros))])
		if err != nil {
			return &UnwritableDirError{d.Path, err}
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		return &UnwritableDirError{d.Path, err}
	}
	return nil
}

func mergeUserDocker(path string, data []byte, o FilesOptions) (DockerMerge, error) {
	m, err := MergeDockerConfig(data, o.Logins, o.ListStore, o.DetectStore)
	if err != nil {
		// Never the parse error itself: it may quote the file, which holds credentials.
		return DockerMerge{}, fmt.Errorf("your config %s: %w", path, err)
	}
	return m, nil
}

// FileTooLargeError says a registry file would be larger than av writes any file
// (maxRegistryFile): Shred would not overwrite it.
type FileTooLargeError struct{ Size int }

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("it would be %d MiB, more than the %d MiB av writes", e.Size>>20, maxRegistryFile>>20)
}

// writeExclusive creates path with data, and records it as av's.
func (w *written) writeExclusive(path string, data []byte) error {
	_, err := w.writeNew(path, data, func() (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	})
	return err
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
