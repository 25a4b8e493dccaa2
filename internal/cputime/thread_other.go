//go:build !linux

package cputime

import "time"

// Thread cannot tell on this platform.
func Thread() (time.Duration, bool) { return 0, false }
