//go:build race

package web

// raceEnabled reports whether the tests run under the race detector, which
// makes storing 100,000 exchanges take minutes: TestPaging100k skips then.
const raceEnabled = true
