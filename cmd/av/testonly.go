package main

import "os"

// testOnlyPanic panics at point when av's test build (go build -tags avtestonly, the
// e2e tests' av-testonly) is run with AV_TEST_PANIC=point: the scripts' way to show what a
// bug in av leaves behind (tests/testdata/crash.txtar). In every other build
// testOnlyHooks is a false constant, and the variable is never read: nobody can make a
// released av panic.
func testOnlyPanic(point string) {
	if testOnlyHooks && os.Getenv("AV_TEST_PANIC") == point {
		panic("testOnlyPanic: " + point)
	}
}
