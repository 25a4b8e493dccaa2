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
	before, ok := Process()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("Process cannot tell on linux")
		}
		t.Skipf("no process CPU time on %s", runtime.GOOS)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 10*time.Second; {
		for range 1 << 16 {
			x++
		}
		if after, _ := Process(); after-before >= 20*time.Millisecond {
			return
		}
	}
	after, _ := Process()
	t.Errorf("10 s of spinning counted as %v of CPU (%d)", after-before, x)
}

// TestThreadCounts checks that a thread's CPU time grows while it spins
// and not while it sleeps.
func TestThreadCounts(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, ok := Thread()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("Thread cannot tell on linux")
		}
		t.Skipf("no thread CPU time on %s", runtime.GOOS)
	}
	time.Sleep(100 * time.Millisecond)
	if slept, _ := Thread(); slept-before > 20*time.Millisecond {
		t.Errorf("sleeping 100 ms counted as %v of the thread's CPU", slept-before)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 10*time.Second; {
		for range 1 << 16 {
			x++
		}
		if after, _ := Thread(); after-before >= 20*time.Millisecond {
			return
		}
	}
	after, _ := Thread()
	t.Errorf("10 s of spinning counted as %v of the thread's CPU (%d)", after-before, x)
}
