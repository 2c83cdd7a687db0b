package session

import (
	"testing"
	"time"
)

// Counting takes at most maxCountShare of a core: a slow count waits
// longer before the next one.
func TestCountPause(t *testing.T) {
	tests := []struct {
		took, want time.Duration
	}{
		{0, 5 * time.Second},
		{10 * time.Millisecond, 5 * time.Second},
		{50 * time.Millisecond, 5 * time.Second},           // exactly 1 %
		{250 * time.Millisecond, 24750 * time.Millisecond}, // 0.25 s of every 25 s
		{2 * time.Second, 198 * time.Second},
		{127 * time.Second, 10 * time.Minute}, // a count held up for two minutes
	}
	for _, tt := range tests {
		if got := countPause(5*time.Second, tt.took); got != tt.want {
			t.Errorf("countPause(5s, %v) = %v, want %v", tt.took, got, tt.want)
		}
	}
}
