package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCounts spins until the process has used 20 ms of CPU time by
// Process's count. On a machine busy with other work, spinning gets only
// a share of a core, so the test waits for CPU time, not wall time; a
// counter that does not move fails after 10 s.
func TestProcessCounts(t *testing.T) {
	spinCounts(t, "Process", Process)
}

// TestThreadCounts checks that a thread's CPU time grows while it spins
// and not while it sleeps.
func TestThreadCounts(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, _ := Thread()
	time.Sleep(100 * time.Millisecond)
	if slept, ok := Thread(); ok && slept-before > 20*time.Millisecond {
		t.Errorf("sleeping 100 ms counted as %v of the thread's CPU", slept-before)
	}
	spinCounts(t, "Thread", Thread)
}

// spinCounts spins until read, the counter called name, says 20 ms of
// CPU time went by, and fails after 10 s of spinning. It skips where the
// counter cannot tell, but on linux.
func spinCounts(t *testing.T, name string, read func() (time.Duration, bool)) {
	before, ok := read()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatalf("%s cannot tell on linux", name)
		}
		t.Skipf("%s: no CPU time on %s", name, runtime.GOOS)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 10*time.Second; {
		for range 1 << 16 {
			x++
		}
		if after, _ := read(); after-before >= 20*time.Millisecond {
			return
		}
	}
	after, _ := read()
	t.Errorf("10 s of spinning counted as %v of CPU by %s (%d)", after-before, name, x)
}
