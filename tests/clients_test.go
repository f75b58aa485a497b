package tests

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// setupCredentialHelper puts a docker credential helper of the user's on PATH,
// docker-credential-avtest, holding the login of registryHelper and nothing else, as a
// credsStore such as "desktop" or "pass" would.
func setupCredentialHelper(e *testscript.Env) error {
	dir := filepath.Join(e.WorkDir, "helpers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	script := fmt.Sprintf(`#!/bin/sh
# A docker credential helper (get/list/store/erase) for the av tests.
read -r server || true
case "$1" in
get)
	case "$server" in
	%[1]s|http://%[1]s|https://%[1]s) printf '{"ServerURL":"%[1]s","Username":"AWS","Secret":"%[2]s"}\n' ;;
	*) echo "credentials not found in native keychain"; exit 1 ;;
	esac ;;
list) printf '{"%[1]s":"AWS"}\n' ;;
*) exit 0 ;;
esac
`, registryHelper.Host, registryHelper.Password)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-avtest"), []byte(script), 0o700); err != nil {
		return err
	}
	e.Setenv("PATH", dir+string(os.PathListSeparator)+e.Getenv("PATH"))
	return nil
}
