package pgstore

import (
	"regexp"
	"regexp/syntax"
	"unicode/utf8"

	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/relit"
)

// Deciding a body search in Go costs reading the whole exchange: its
// bodies, and its JSON form (decompressed and decoded: most of the cost).
// The bodies alone often tell: a filter that needs a word in a body (~b
// password, alone or and-ed with other conditions) cannot match an
// exchange whose bodies lack it. load reads the bodies alone first, and
// reads and decodes the rest only for the exchanges that may match.

// A bodyNeed is what a filter needs of an exchange's bodies: one of the
// bodies it names (the request's, the response's, or either) contains
// every literal string.
type bodyNeed struct {
	req, resp bool
	lits      []relit.Literal
}

// bodyNeeds returns what n needs of the bodies of every exchange it
// matches: the needs of its body matches that are and-ed at its top.
func bodyNeeds(n filter.Node) []bodyNeed {
	switch n := n.(type) {
	case filter.And:
		return append(bodyNeeds(n.X), bodyNeeds(n.Y)...)
	case filter.Match:
		need := bodyNeed{req: n.Op == filter.OpBody || n.Op == filter.OpReqBody, resp: n.Op == filter.OpBody || n.Op == filter.OpRespBody}
		if need.req || need.resp {
			if need.lits = neededLiterals(n.Re); len(need.lits) > 0 {
				return []bodyNeed{need}
			}
		}
	}
	return nil
}

// met reports whether the bodies req and resp meet every need.
func met(needs []bodyNeed, req, resp []byte) bool {
	for _, n := range needs {
		if !(n.req && relit.In(req, n.lits) || n.resp && relit.In(resp, n.lits)) {
			return false
		}
	}
	return true
}

// neededLiterals returns the literal strings that every match of re
// contains, as relit.Of does, and more: where re ignores case, relit
// leaves out a whole literal that has a rune it cannot look for in ASCII
// case (k and s, which also match K and ſ, and other letters beyond
// ASCII); neededLiterals keeps the runs between such runes. Body searches
// (?is) ignore case: without the runs, ~b quokka would have no literal
// to look for and every candidate would be decoded whole.
func neededLiterals(re *regexp.Regexp) []relit.Literal {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	return relit.Required(splitLiterals(t))
}

// splitLiterals returns re with each literal that ignores case cut into
// a concatenation of its runs and a placeholder (any rune) for each rune
// that relit cannot use, which relit.Required turns into separate
// literals.
func splitLiterals(re *syntax.Regexp) *syntax.Regexp {
	if re.Op != syntax.OpLiteral {
		for i, sub := range re.Sub {
			re.Sub[i] = splitLiterals(sub)
		}
		return re
	}
	if re.Flags&syntax.FoldCase == 0 {
		return re
	}
	out := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags}
	var run []rune
	flush := func() {
		if len(run) > 0 {
			out.Sub = append(out.Sub, &syntax.Regexp{Op: syntax.OpLiteral, Flags: re.Flags, Rune: run})
			run = nil
		}
	}
	for _, r := range re.Rune {
		switch {
		case r == 0 || r == utf8.RuneError || r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S':
			flush()
			out.Sub = append(out.Sub, &syntax.Regexp{Op: syntax.OpAnyChar, Flags: re.Flags})
		default:
			run = append(run, r)
		}
	}
	flush()
	if len(out.Sub) == 1 {
		return out.Sub[0]
	}
	return out
}
