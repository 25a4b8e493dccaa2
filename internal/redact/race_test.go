//go:build race

package redact

// raceEnabled reports whether the tests run under the race detector, which
// makes large inputs slow: tests scale their time limits off when it is set.
const raceEnabled = true
