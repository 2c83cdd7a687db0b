package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's setting when the GOGC
// environment variable does not give one.
//
// The server keeps very little in memory between requests (a live heap of
// about 1 MiB), but each request allocates a few dozen kilobytes. With Go's
// default of 100 the heap is collected every time it reaches 4 MiB, which
// under load is some 65 times a second. At 400 the collector runs a quarter
// as often: under load that gave about a third more requests per second,
// for about 12 MiB more resident memory (docs/performance.md).
const defaultGCPercent = 400

// defaultMemoryLimit is the collector's soft memory limit when GOMEMLIMIT
// does not give one. Page requests stay far below it (about 40 MiB resident
// under load), so it costs them nothing; but a password hash allocates
// 19 MiB at once, and under a flood of sign-ins GOGC=400 alone let the
// heap reach five times the hashes in flight (258 MB resident). Near the
// limit the collector runs sooner instead (docs/performance.md).
const defaultMemoryLimit = 64 << 20

// tuneGC applies defaultGCPercent and defaultMemoryLimit unless GOGC and
// GOMEMLIMIT are set: the environment variables, read by the Go runtime
// itself, always win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
