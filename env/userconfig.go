package env

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/av-cli/av/profiles"
)

// UserConfig is where the user's own client configurations are, as the clients themselves
// would find them from the parent's environment.
type UserConfig struct {
	DockerDir string   // $DOCKER_CONFIG, else ~/.docker
	AuthFiles []string // containers/image's read order: $REGISTRY_AUTH_FILE alone, else its defaults
	HelmFile  string   // $HELM_REGISTRY_CONFIG, else helm's default path
	// LegacyFile is ~/.dockercfg, the docker config of before config.json ({"host": login},
	// no "auths"): containers/image reads it after AuthFiles unless REGISTRY_AUTH_FILE is
	// set (LegacyForAuth), and the clients that still know it (docker-py, docker CLIs
	// before 28) only when there is no config.json. "" without HOME.
	LegacyFile    string
	LegacyForAuth bool
}

// FindUserConfig locates the user's configs the way docker, containers/image and helm do.
func FindUserConfig(getenv func(string) string) UserConfig {
	home := getenv("HOME")
	xdgConfig := xdgConfigHome(getenv)
	u := UserConfig{DockerDir: cmp.Or(getenv("DOCKER_CONFIG"), filepath.Join(home, ".docker"))}
	if home != "" {
		u.LegacyFile = filepath.Join(home, ".dockercfg")
	}
	if f := getenv("REGISTRY_AUTH_FILE"); f != "" {
		u.AuthFiles = []string{f}
	} else {
		u.LegacyForAuth = true
		runtimeAuth, configAuth := containersAuthDefaults(getenv)
		if runtimeAuth != "" {
			u.AuthFiles = append(u.AuthFiles, runtimeAuth)
		}
		u.AuthFiles = append(u.AuthFiles, configAuth, u.DockerConfigPath())
	}
	switch {
	case getenv("HELM_REGISTRY_CONFIG") != "":
		u.HelmFile = getenv("HELM_REGISTRY_CONFIG")
	case getenv("HELM_CONFIG_HOME") != "":
		u.HelmFile = filepath.Join(getenv("HELM_CONFIG_HOME"), "registry", "config.json")
	default:
		u.HelmFile = filepath.Join(xdgConfig, "helm", "registry", "config.json")
	}
	return u
}

// xdgConfigHome is $XDG_CONFIG_HOME, else ~/.config.
func xdgConfigHome(getenv func(string) string) string {
	return cmp.Or(getenv("XDG_CONFIG_HOME"), filepath.Join(getenv("HOME"), ".config"))
}

// containersAuthDefaults are containers/image's default auth files, in its order:
// $XDG_RUNTIME_DIR/containers/auth.json ("" without XDG_RUNTIME_DIR), then
// $XDG_CONFIG_HOME/containers/auth.json.
func containersAuthDefaults(getenv func(string) string) (runtimeAuth, configAuth string) {
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" {
		runtimeAuth = filepath.Join(rt, "containers", "auth.json")
	}
	return runtimeAuth, filepath.Join(xdgConfigHome(getenv), "containers", "auth.json")
}

// UserFiles are the user's own client configs, read and checked before any AWS call: a
// broken file is reported before a prompt or an STS call, not after.
type UserFiles struct {
	UserConfig
	Docker []byte   // DockerDir/config.json
	Auth   [][]byte // AuthFiles, in their order
	Helm   []byte   // HelmFile
	// Legacy is LegacyFile's logins as a docker config ({"auths": …}), read only where a
	// client would read it (no config.json, or LegacyForAuth); nil for none.
	Legacy []byte

	stamps []fileStamp // what stat said of the files just before they were read (stampUser)
}

// AuthBase are the containers auth files av's is made from, in containers/image's order:
// AuthFiles, then ~/.dockercfg's logins unless REGISTRY_AUTH_FILE is set.
func (f UserFiles) AuthBase() [][]byte {
	if f.LegacyForAuth && f.Legacy != nil {
		return append(slices.Clone(f.Auth), f.Legacy)
	}
	return f.Auth
}

// DockerConfigPath is the user's docker config.json.
func (u UserConfig) DockerConfigPath() string { return filepath.Join(u.DockerDir, "config.json") }

// ReadUserConfig reads the user's configs and checks that each is a JSON object of the
// shape the clients read (never quoting one: they hold credentials).
func ReadUserConfig(u UserConfig) (UserFiles, error) {
	// Stamped before they are read: a change made meanwhile shows as a change later
	// (Follow), never as none.
	f := UserFiles{UserConfig: u, stamps: stampUser(u)}
	var err error
	if f.Docker, err = readUserConfigFile(u.DockerConfigPath()); err != nil {
		return UserFiles{}, err
	}
	for _, p := range u.AuthFiles {
		if p == u.DockerConfigPath() {
			// containers/image's last default: the config.json just read, not read again
			// (a second open on every run, and a file that could differ from the first).
			f.Auth = append(f.Auth, f.Docker)
			continue
		}
		data, err := readUserConfigFile(p)
		if err != nil {
			return UserFiles{}, err
		}
		f.Auth = append(f.Auth, data)
	}
	if f.Helm, err = readUserConfigFile(u.HelmFile); err != nil {
		return UserFiles{}, err
	}
	if u.LegacyFile != "" && (f.Docker == nil || u.LegacyForAuth) {
		if f.Legacy, err = readLegacyDockerConfig(u.LegacyFile); err != nil {
			return UserFiles{}, err
		}
	}
	return f, nil
}

// readLegacyDockerConfig reads ~/.dockercfg, {"host": {"auth": …, "email": …}}, and gives
// its logins as a docker config's "auths"; nil for a missing or empty file. Its errors,
// as the other configs', never quote it.
func readLegacyDockerConfig(path string) ([]byte, error) {
	data, err := readUserFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return nil, err
	}
	var logins map[string]login
	if err := json.Unmarshal(data, &logins); err != nil || logins == nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, &UserConfigError{path, fmt.Errorf("not valid JSON at line %d", jsonErrorLine(data, syntax.Offset))}
		}
		return nil, &UserConfigError{path, errors.New("not a JSON object of logins")}
	}
	var entries map[string]json.RawMessage
	_ = json.Unmarshal(data, &entries) // it decoded above: every entry is an object
	out, err := json.Marshal(map[string]map[string]json.RawMessage{"auths": entries})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// paths are the files the user's configs are read from, each once.
func (u UserConfig) paths() []string {
	paths := []string{u.DockerConfigPath()}
	for _, p := range append(u.AuthFiles, u.HelmFile, u.LegacyFile) {
		if p != "" && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	return paths
}

// fileStamp is what stat says of one of the user's files, following a symlink (a dotfiles
// link to config.json): a new inode, size or modification time means it changed. docker
// saves config.json by renaming a new file over it, so every save is a new inode.
type fileStamp struct {
	err      syscall.Errno // ENOENT for a missing file
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

// stampUser stamps each of the user's files (paths): a stat each, no open, so a FIFO does
// not block it (a hung network filesystem may: callers run it under their context).
func stampUser(u UserConfig) []fileStamp {
	paths := u.paths()
	stamps := make([]fileStamp, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			stamps[i].err = syscall.EIO
			if errno, ok := errors.AsType[syscall.Errno](err); ok {
				stamps[i].err = errno
			}
			continue
		}
		stamps[i].size, stamps[i].mtime = fi.Size(), fi.ModTime().UnixNano()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			stamps[i].dev, stamps[i].ino = uint64(st.Dev), st.Ino
		}
	}
	return stamps
}

// UserConfigError is one of the user's client configs that cannot be used.
type UserConfigError struct {
	Path string
	Err  error
}

func (e *UserConfigError) Error() string { return fmt.Sprintf("your config %s: %v", e.Path, e.Err) }
func (e *UserConfigError) Unwrap() error { return e.Err }

// maxUserConfig bounds what av reads of a user's config: the largest docker configs seen
// hold a few hundred registries, tens of kilobytes.
const maxUserConfig = 4 << 20

// readUserConfigFile reads one of the user's configs, a regular file of at most
// maxUserConfig bytes (profiles.ReadCapped: a FIFO is refused, not waited on), and checks
// its shape; a missing file is an empty one.
func readUserConfigFile(path string) ([]byte, error) {
	data, err := readUserFile(path)
	if err != nil || data == nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if _, err := decodeClientConfig(data); err != nil {
			return nil, &UserConfigError{path, err}
		}
	}
	return data, nil
}

// readUserFile reads one of the user's files of at most maxUserConfig bytes: nil for a
// missing one, a UserConfigError for one that cannot be read.
func readUserFile(path string) ([]byte, error) {
	data, err := profiles.ReadCapped(path, profiles.ReadOptions{Limit: maxUserConfig})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, profiles.ErrNotRegular):
		return nil, &UserConfigError{path, errors.New("is not a regular file")}
	case errors.Is(err, profiles.ErrTooLarge):
		return nil, &UserConfigError{path, fmt.Errorf("is larger than %d MiB", maxUserConfig>>20)}
	case err != nil:
		return nil, &UserConfigError{path, err}
	}
	if data == nil {
		data = []byte{} // empty, not missing
	}
	return data, nil
}

// ListCredentialStore runs `docker-credential-NAME list`, which prints the registries the
// helper holds as {"server": "username"}: names only, never secrets (CredentialStoreLister
// with no run to end it).
func ListCredentialStore(helper string) ([]string, error) {
	return listCredentialStore(context.Background(), helper, false)
}

// CredentialStoreLister is ListCredentialStore under the run's context: Ctrl-C or SIGTERM
// end the helper at once, with what it started, not after its bound.
func CredentialStoreLister(ctx context.Context) StoreLister {
	return func(helper string) ([]string, error) { return listCredentialStore(ctx, helper, false) }
}

// runningLister is CredentialStoreLister for while the command runs: the command has the
// terminal, so the helper gets a session of its own, with no controlling terminal (one
// that opens /dev/tty fails there, rather than stopping the command's job or reading its
// keys).
func runningLister(ctx context.Context) StoreLister {
	return func(helper string) ([]string, error) { return listCredentialStore(ctx, helper, true) }
}

// storeListTimeout bounds a credential helper's list; a process it leaves holding its
// stdout holds av a second at most.
const storeListTimeout = 10 * time.Second

// listCredentialStore runs the helper's list. It gets av's environment without its secrets
// (withoutSecrets): it needs none of them to list; and no terminal on its stdin (it asks
// nobody anything), in a process group of its own (detached: a session of its own), killed
// whole when ctx ends.
func listCredentialStore(ctx context.Context, helper string, detached bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, storeListTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-credential-"+helper, "list")
	cmd.Env = withoutSecrets(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !detached, Setsid: detached}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out := &profiles.CappedWriter{Limit: maxUserConfig, Over: cancel}
	cmd.Stdout = out
	err := cmd.Run()
	switch {
	case out.Exceeded:
		return nil, fmt.Errorf("its list is larger than %d MiB", maxUserConfig>>20)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("listing its logins: %w", ctx.Err())
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return nil, err
	}
	var servers map[string]string
	if err := json.Unmarshal(out.Bytes(), &servers); err != nil {
		return nil, errors.New("its answer is not a JSON object")
	}
	hosts := make([]string, 0, len(servers))
	for s := range servers {
		hosts = append(hosts, s)
	}
	sort.Strings(hosts)
	return hosts, nil
}

// DetectDockerStore is the docker CLI's choice of credential store for a config with no
// auth configuration (cli/config/credentials, Linux): pass when `pass` is installed, else
// secretservice, and only if its docker-credential helper is on PATH.
func DetectDockerStore() string {
	store := "secretservice"
	if _, err := exec.LookPath("pass"); err == nil {
		store = "pass"
	}
	if _, err := exec.LookPath("docker-credential-" + store); err != nil {
		return ""
	}
	return store
}

// linkDockerDir links every entry of the user's docker config directory but config.json
// (cli-plugins, contexts, buildx, manifests, trust, tls, certificates…) into dir, so
// plugins, contexts and builders behave as outside av. Cleanup removes the links only.
func linkDockerDir(userDir, dir string) error {
	entries, err := os.ReadDir(userDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", userDir, err)
	}
	abs, err := filepath.Abs(userDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "config.json" {
			continue
		}
		if err := os.Symlink(filepath.Join(abs, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("linking %s: %w", e.Name(), err)
		}
	}
	return nil
}
