//go:build race

package proxy

// raceEnabled reports whether the tests run under the race detector, which
// makes large transfers slow: tests scale their sizes down when it is set.
const raceEnabled = true
