package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessCounts(t *testing.T) {
	before, ok := Process()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("Process cannot tell on linux")
		}
		t.Skipf("no process CPU time on %s", runtime.GOOS)
	}
	// Spin for at least 50 ms of wall time: that is CPU time too.
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	after, _ := Process()
	if d := after - before; d < 20*time.Millisecond {
		t.Errorf("50 ms of spinning counted as %v of CPU (%d)", d, x)
	}
}
