package cputime

import (
	"syscall"
	"time"
)

// Thread returns the CPU time the calling thread has used so far (user
// and system), and whether it could tell. The caller should hold its
// goroutine on the thread (runtime.LockOSThread) between two calls, or
// the difference counts other goroutines' time, or misses its own.
func Thread() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_THREAD, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
