package filter

import (
	"regexp"
	"sync"

	"github.com/bodytap/bodytap/internal/relit"
)

// Bodies are searched with case-insensitive expressions ((?is)), which Go
// runs with its backtracker: tens of microseconds a kilobyte, most of the
// cost of a body search. Most searches need a word (~b password), and a
// body that lacks a literal string every match contains cannot match, so
// matchBody first looks for those strings, ignoring ASCII case where the
// expression does, at about a nanosecond a byte.

var (
	requiredMu sync.Mutex
	required   = map[*regexp.Regexp][]relit.Literal{} // bounded: see requiredOf
)

// requiredOf returns the literal strings every match of re contains.
func requiredOf(re *regexp.Regexp) []relit.Literal {
	requiredMu.Lock()
	defer requiredMu.Unlock()
	lits, ok := required[re]
	if !ok {
		lits = relit.Of(re)
		if len(required) >= 1024 {
			clear(required) // filters come and go; forgetting costs a parse
		}
		required[re] = lits
	}
	return lits
}

// mayMatch reports whether b holds every literal string that a match of
// re needs: false means re cannot match b.
func mayMatch(re *regexp.Regexp, b []byte) bool {
	return relit.In(b, requiredOf(re))
}
