//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cputime

import "time"

// Process cannot tell on this platform.
func Process() (time.Duration, bool) { return 0, false }
