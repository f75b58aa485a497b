package keyring

import "sync"

// Patched for av (see PATCHES.md): the backends that need the D-Bus session bus
// (secret-service and kwallet, Linux only) are registered the first time the backends are
// listed or one of them is opened, not in init. v1.2.2 connected to the bus in init, in
// every process that linked the package, whatever backend it went on to use.

// busBackends register the backends that need the session bus, if it can be reached.
var busBackends []func()

var busOnce sync.Once

// registerBusBackends runs busBackends, once.
func registerBusBackends() {
	busOnce.Do(func() {
		for _, register := range busBackends {
			register()
		}
	})
}

// needsBus reports whether a backend is one of those that busBackends register.
func needsBus(b BackendType) bool {
	return b == SecretServiceBackend || b == KWalletBackend
}
