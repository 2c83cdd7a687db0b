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
