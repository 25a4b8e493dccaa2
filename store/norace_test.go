//go:build !race

package store

// raceEnabled is true when the race detector is on: the tests then use
// less data, as it makes SQLite (translated to Go) ten times slower.
const raceEnabled = false
