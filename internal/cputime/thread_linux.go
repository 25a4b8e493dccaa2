package cputime

import (
	"syscall"
	"time"
)

// Thread returns the CPU time the calling thread has used so far (user
// and system), and whether it could tell. The caller should hold its
// goroutine on the thread (runtime.LockOSThread) between two calls, or
// the difference counts other goroutines' time, or misses its own.
func Thread() (time.Duration, bool) { return rusage(syscall.RUSAGE_THREAD) }
