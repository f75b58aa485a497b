package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/av-cli/av/profiles"
	"golang.org/x/sys/unix"
)

// dockerStateDirs are the entries of the user's docker directory where docker keeps state
// that is not a secret and must outlive the run: contexts (`docker context create`) and
// buildx's builders and current choice (`docker buildx create`, `docker buildx use`).
// They are made in the user's directory when missing, so that the links into the run's
// directory (linkDockerDir) carry what the command makes back to it.
var dockerStateDirs = []string{"contexts", "buildx"}

// ensureDockerState makes the user's docker directory and its state directories where they
// are missing, mode 0700, as docker would on first use. Best effort: a directory av may
// not make leaves that state in the run's directory, as before.
func ensureDockerState(userDir string) {
	if err := os.MkdirAll(userDir, 0o700); err != nil {
		log.Printf("docker's state stays in the run: %v", err)
		return
	}
	// Only in a directory of av's own user: under sudo with HOME kept, root must not
	// make directories in another user's docker directory that it then cannot use.
	var st unix.Stat_t
	if unix.Stat(userDir, &st) != nil || int(st.Uid) != os.Getuid() {
		return
	}
	for _, d := range dockerStateDirs {
		if err := os.Mkdir(filepath.Join(userDir, d), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			log.Printf("docker's %s stays in the run: %v", d, err)
		}
	}
}

// currentContext is config.json's `currentContext` ("" for docker's default).
func currentContext(data []byte) string {
	var c struct {
		CurrentContext string `json:"currentContext"`
	}
	_ = json.Unmarshal(data, &c)
	return c.CurrentContext
}

// KeepCurrentContext carries a `docker context use` made inside the run back to the user's
// config.json: docker keeps the choice in config.json, and the run's is shredded. Only the
// `currentContext` key of the user's file is changed, and only if the command changed it;
// every other key keeps its value (the file is written again, indented, as docker writes
// it), and the file is replaced whole. What the command found is user's config.json, or,
// where the run followed the user's later changes (Follow), the one it last merged: a
// `docker context use` made outside meanwhile is not carried back over a newer one.
func (f Files) KeepCurrentContext(user UserFiles) error {
	data, err := profiles.ReadCapped(filepath.Join(f.DockerConfig, "config.json"), profiles.ReadOptions{Limit: maxUserConfig, NoFollow: true})
	if err != nil {
		return nil // gone or replaced by the command: nothing to carry
	}
	was, now := currentContext(user.Docker), currentContext(data)
	if st := f.state; st != nil {
		st.mu.Lock()
		was = currentContext(st.sides.docker) // the user's side keeps every other member as it is
		st.mu.Unlock()
	}
	if now == was {
		return nil
	}
	path := user.DockerConfigPath()
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // a dotfiles link stays a link: the file it names is replaced
	}
	cur, err := readUserConfigFile(path)
	if err != nil {
		return err
	}
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(cur)) > 0 {
		if err := json.Unmarshal(cur, &fields); err != nil {
			return &UserConfigError{path, errors.New("not a JSON object")}
		}
	}
	if now == "" {
		delete(fields, "currentContext")
	} else {
		fields["currentContext"], _ = json.Marshal(now)
	}
	out, err := json.MarshalIndent(fields, "", "\t")
	if err != nil {
		return err
	}
	if err := replaceUserFile(path, append(out, '\n')); err != nil {
		return fmt.Errorf("keeping `docker context use %s` in %s: %w", now, path, err)
	}
	log.Printf("kept the current docker context %q in %s", now, path)
	return nil
}

// replaceUserFile writes data to a new file beside path and renames it over path, so that
// a reader sees the old file or the new one. The new file has the old one's mode and, where
// av may set them (as root), its owner: as docker's own save does (a group-shared config,
// a user's file written under sudo); 0600 for a new one.
func replaceUserFile(path string, data []byte) error {
	mode, uid, gid := os.FileMode(0o600), -1, -1
	var st unix.Stat_t
	if unix.Stat(path, &st) == nil {
		mode = os.FileMode(st.Mode & 0o777)
		if os.Getuid() == 0 {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config.json.av-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if uid >= 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
