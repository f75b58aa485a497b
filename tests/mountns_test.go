package tests

import (
	"os"
	"os/exec"
	"sync"
)

// canMountNS reports whether `unshare -rm` makes a user and mount namespace in which a
// tmpfs can be mounted: the condition [mountns], for scripts that need a small, really
// full tmpfs without root. Kernels or containers that forbid unprivileged user namespaces
// skip such scripts, in CI too: it is not a tool CI could install.
var canMountNS = sync.OnceValue(func() bool {
	dir, err := os.MkdirTemp("", "av-mountns-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	return exec.Command("unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", dir).Run() == nil
})
