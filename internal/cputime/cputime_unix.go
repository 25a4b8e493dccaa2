//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cputime

import (
	"syscall"
	"time"
)

// Process returns the CPU time the process has used so far (user and
// system), and whether it could tell.
func Process() (time.Duration, bool) { return rusage(syscall.RUSAGE_SELF) }

// rusage returns the CPU time (user and system) that getrusage reports
// for who, and whether it could tell.
func rusage(who int) (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
