package bodytap

import (
	"sync/atomic"
	"time"
)

// clockBase is a recent time.Now, wall and monotonic readings together,
// from which now derives the time of day with a single reading of the
// monotonic clock: time.Now reads two clocks, and on virtual machines
// each reading can cost as much as the rest of a small capture's
// bookkeeping.
var clockBase atomic.Pointer[time.Time]

// clockRefresh is how old clockBase may get: the wall clock moves
// against the monotonic one only by NTP's slewing (at most 0.05%)
// or a step, which now then follows within this time.
const clockRefresh = time.Second

// now returns the current time, as time.Now does, to within the wall
// clock's drift since clockBase.
func now() time.Time {
	if b := clockBase.Load(); b != nil {
		if d := time.Since(*b); d >= 0 && d < clockRefresh {
			return b.Add(d)
		}
	}
	t := time.Now()
	clockBase.Store(&t)
	return t
}
