//go:build race

package testutil

// RaceEnabled reports whether the tests run under the race detector, which
// makes multi-MiB bodies slow: tests scale their sizes down when it is set.
const RaceEnabled = true
