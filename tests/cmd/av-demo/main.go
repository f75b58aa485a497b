// Command av-demo shows av's main job end to end with no AWS account: it starts the AWS
// stand-in and a local registry, stores a key in a throwaway aws-vault file vault, and has
// av push and pull an image with crane, printing what the child saw and that it is gone.
// Run it with `make demo`; it touches neither ~/.aws, ~/.docker nor any keyring.
package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/av-cli/av/tests/fixture"
	"github.com/av-cli/av/tests/standin"
)

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: error:", err)
		os.Exit(1)
	}
}

func demo() error {
	work, err := os.MkdirTemp("", "av-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	step("building av and aws-vault v7.2.0")
	if err := fixture.Build(bin, fixture.BuildOptions{}); err != nil {
		return err
	}
	crane, err := fixture.LookTool("crane")
	if err != nil {
		return err
	}

	step("starting the AWS stand-in (STS + ECR, SigV4-checked) and a registry on 127.0.0.1")
	reg, err := fixture.StartRegistry(filepath.Join(work, "registry"))
	if err != nil {
		return err
	}
	defer reg.Stop()
	aws := standin.New(standin.Options{})
	url, err := aws.Start()
	if err != nil {
		return err
	}
	defer aws.Close()
	aws.SetRegistry("eu-west-1", "http://"+reg.Host, reg.Password)
	keyID, secret := aws.NewRootKey()
	fmt.Printf("   AWS endpoint %s, registry %s\n", url, reg.Host)

	home := filepath.Join(work, "home")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		return err
	}
	config := "[profile demo]\nregion = eu-west-1\n"
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		return err
	}
	env := append(cleanEnviron(),
		"HOME="+home,
		"PATH="+bin+":"+filepath.Dir(crane)+":"+os.Getenv("PATH"),
		"AWS_ENDPOINT_URL="+url,
		"AWS_VAULT_BACKEND=file",
		"AWS_VAULT_FILE_PASSPHRASE="+fixture.RandomHex(8),
		// No session bus, as in the tests: the released aws-vault's keyring connects to it
		// as it starts, and with none set runs dbus-launch, whose daemon outlives the demo
		// holding this environment, the passphrase included.
		"DBUS_SESSION_BUS_ADDRESS=disabled:",
	)

	step("aws-vault add --env demo  (a throwaway file vault in a temporary HOME)")
	add := exec.Command(filepath.Join(bin, "aws-vault"), "add", "--env", "demo")
	add.Env = append(env, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("aws-vault add: %v: %s", err, out)
	}

	layer := filepath.Join(work, "layer.tar")
	if err := writeLayer(layer); err != nil {
		return err
	}
	image := reg.Host + "/demo/hello:v1"
	script := `set -e
echo "   DOCKER_CONFIG=$DOCKER_CONFIG"
echo "   REGISTRY_AUTH_FILE=$REGISTRY_AUTH_FILE"
echo "   HELM_REGISTRY_CONFIG=$HELM_REGISTRY_CONFIG"
echo "   AWS_VAULT=$AWS_VAULT AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=$(echo "$AWS_ACCESS_KEY_ID" | cut -c1-4)…"
echo "   the directory ($(df --output=fstype "$DOCKER_CONFIG" | tail -1)):"
ls -lR "$(dirname "$DOCKER_CONFIG")" | sed 's/^/     /'
echo "   config.json (token redacted):"
sed -E 's/("auth": ")[^"]*"/\1<redacted>"/' "$DOCKER_CONFIG/config.json" | sed 's/^/     /'
echo "$DOCKER_CONFIG" > "$AV_DEMO_SEEN"
echo "   crane append → $1"
crane append -f "$2" -t "$1" >/dev/null 2>&1
echo "   crane pull $1"
crane pull "$1" "$3" 2>&1 | sed 's/^/     /'
`
	seen := filepath.Join(work, "seen")
	step("av demo -- sh -c '…crane append; crane pull…'   (what the child saw:)")
	run := exec.Command(filepath.Join(bin, "av"), "demo", "--", "sh", "-c", script, "sh", image, layer, filepath.Join(work, "pulled.tar"))
	run.Env = append(env, "AV_DEMO_SEEN="+seen)
	run.Stdout, run.Stderr = os.Stdout, os.Stderr
	if err := run.Run(); err != nil {
		return fmt.Errorf("av: %w", err)
	}

	step("after av exits")
	dir, err := os.ReadFile(seen)
	if err != nil {
		return err
	}
	runDir := filepath.Dir(strings.TrimSpace(string(dir)))
	if _, err := os.Stat(runDir); err == nil {
		return fmt.Errorf("%s is still there", runDir)
	}
	fmt.Printf("   %s: gone (files zeroed, synced, unlinked)\n", runDir)
	if st, err := os.Stat(filepath.Join(work, "pulled.tar")); err == nil {
		fmt.Printf("   pulled.tar: %d bytes\n", st.Size())
	}

	step("the same pull without av")
	bare := exec.Command(crane, "pull", image, filepath.Join(work, "refused.tar"))
	bare.Env = env
	out, err := bare.CombinedOutput()
	if err == nil {
		return fmt.Errorf("crane pull without av succeeded; the registry should refuse it")
	}
	fmt.Printf("   refused: %s\n", firstLine(out))

	step("calls the AWS stand-in answered")
	calls := aws.CallsByName()
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("   %-28s %d\n", n, calls[n])
	}
	return nil
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// cleanEnviron is the demo's own environment without anything that could reach a real
// AWS account, docker login or keyring (the session bus: a desktop's Secret Service).
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "DOCKER_") || k == "REGISTRY_AUTH_FILE" || k == "HELM_REGISTRY_CONFIG" || k == "HOME" || k == "PATH" || strings.HasPrefix(k, "AV_") || k == "DBUS_SESSION_BUS_ADDRESS" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// writeLayer writes a one-file layer tarball.
func writeLayer(path string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := []byte("hello from av\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content))}); err != nil {
		return err
	}
	tw.Write(content)
	tw.Close()
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
