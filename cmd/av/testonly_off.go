//go:build !avtestonly

package main

// testOnlyHooks is off: this is not av's test build (testonly.go).
const testOnlyHooks = false
