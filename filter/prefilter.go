package filter

import (
	"bytes"
	"regexp"
	"regexp/syntax"
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
		if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
			lits = relit.Required(t)
		}
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
	for _, lit := range requiredOf(re) {
		if lit.Fold && !containsFold(b, lit.S) || !lit.Fold && !bytes.Contains(b, []byte(lit.S)) {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains substr, ignoring the case of
// ASCII letters.
func containsFold[T string | []byte](s T, substr string) bool {
	if substr == "" {
		return true
	}
	first := lowerASCII(substr[0])
	for i := 0; i+len(substr) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(substr) && lowerASCII(s[i+j]) == lowerASCII(substr[j]) {
			j++
		}
		if j == len(substr) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
