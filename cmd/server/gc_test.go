package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	tests := []struct {
		gogc string
		want int
	}{
		{"", defaultGCPercent},
		{"50", 50}, // left as the runtime read it
	}
	for _, tt := range tests {
		t.Run("GOGC="+tt.gogc, func(t *testing.T) {
			// As if the runtime had read GOGC=50 at start-up.
			before := debug.SetGCPercent(50)
			defer debug.SetGCPercent(before)

			tuneGC(func(key string) string {
				if key == "GOGC" {
					return tt.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(before); got != tt.want {
				t.Errorf("GC percent: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTuneGCMemoryLimit(t *testing.T) {
	const theirs = 200 << 20
	tests := []struct {
		gomemlimit string
		want       int64
	}{
		{"", defaultMemoryLimit},
		{"200MiB", theirs}, // left as the runtime read it
	}
	for _, tt := range tests {
		t.Run("GOMEMLIMIT="+tt.gomemlimit, func(t *testing.T) {
			// As if the runtime had read GOMEMLIMIT=200MiB at start-up.
			before := debug.SetMemoryLimit(theirs)
			defer debug.SetMemoryLimit(before)
			gcBefore := debug.SetGCPercent(100)
			defer debug.SetGCPercent(gcBefore)

			tuneGC(func(key string) string {
				if key == "GOMEMLIMIT" {
					return tt.gomemlimit
				}
				return ""
			})
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("memory limit: got %d, want %d", got, tt.want)
			}
		})
	}
}
