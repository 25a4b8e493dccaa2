package bodytap

import (
	"testing"
	"time"
)

// TestNowFollowsTheClock: now stays within a millisecond of time.Now,
// wall and monotonic readings alike, across a refresh of its base.
func TestNowFollowsTheClock(t *testing.T) {
	for i := range 3 {
		before := time.Now()
		got := now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Errorf("now() = %v, not between %v and %v (monotonic)", got, before, after)
		}
		wall := got.Round(0)
		if wall.Before(before.Round(0).Add(-time.Millisecond)) || wall.After(after.Round(0).Add(time.Millisecond)) {
			t.Errorf("now() wall clock %v, not within 1ms of [%v, %v]", wall, before.Round(0), after.Round(0))
		}
		if i == 1 {
			old := time.Now().Add(-2 * clockRefresh)
			clockBase.Store(&old) // as if a second had passed since the last refresh
		}
		time.Sleep(5 * time.Millisecond)
	}
}
