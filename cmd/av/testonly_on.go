//go:build avtestonly

package main

// testOnlyHooks is on: av's test build, for the e2e scripts only (testonly.go).
const testOnlyHooks = true
