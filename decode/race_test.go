//go:build race

package decode

// raceEnabled slows every instrumented byte, so the bombs are smaller.
const raceEnabled = true
