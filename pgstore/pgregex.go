package pgstore

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// pgRegexp translates re, a regular expression as regexp.Compile
// compiles it (Perl syntax, as filter.Parse does), into a PostgreSQL
// regular expression (an ARE, applied with the case-sensitive ~) that
// matches the same valid UTF-8 strings without NUL: the strings of a row
// that is not lossy, in a UTF-8 database. ok is false when it cannot
// translate re for certain, or the translation would be too large for
// PostgreSQL to compile and run cheaply; the caller falls back to
// deciding in Go.
//
// Nothing in the translation depends on the locale or the collation:
// case folding becomes explicit lists of runes (unicode.SimpleFold's
// orbit, as Go folds: k matches K and U+212A), classes become ranges of
// code points (PostgreSQL compares a case-sensitive range by code
// point), and every rune but an ASCII letter or digit is written as a
// \u or \U escape, so that no character of the pattern means anything
// to PostgreSQL but itself. Go's ^ and $ (without m) are \A and \z; so
// are PostgreSQL's ^ and $ outside newline-sensitive mode, the mode ~
// runs in. Go's . (without s) does not match \n, PostgreSQL's does: it
// becomes [^\n]. Line anchors (m) and word boundaries, which PostgreSQL
// spells with its own notion of a word (\y, by the locale), become
// lookaround constraints on explicit ASCII classes, as Go defines them.
// Greediness does not matter to a match that only says yes or no, so
// x*? is x*.
func pgRegexp(re *regexp.Regexp) (string, bool) {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", false
	}
	var w pgWriter
	s, _, cost := w.write(t)
	if w.refused || cost > maxPGRegexpCost || len(s) > maxPGRegexpLen {
		return "", false
	}
	return s, true
}

// A pattern whose expansion (each repetition counted as its copies, as
// PostgreSQL's compiler makes them) is over maxPGRegexpCost runes and
// classes, or whose text is over maxPGRegexpLen bytes, is left to Go:
// PostgreSQL fails to compile a much larger one, failing the query
// ("regular expression is too complex": PostgreSQL 15 compiled 10 folded
// letters repeated 25,500 times, not 255,000), and runs a large one
// slowly.
const (
	maxPGRegexpCost = 1000
	maxPGRegexpLen  = 8192
	// pgDupMax is the largest count PostgreSQL allows in {n,m}.
	pgDupMax = 255
)

// pgWordClass is Go's \w, as \b reads it: ASCII letters, digits and _.
const pgWordClass = `[0-9A-Za-z\u005F]`

type pgWriter struct{ refused bool }

func (w *pgWriter) refuse() (string, bool, int) {
	w.refused = true
	return "", false, 0
}

// write returns the translation of re, whether it is a single atom (a
// quantifier may follow it without a group), and its cost.
func (w *pgWriter) write(re *syntax.Regexp) (s string, atom bool, cost int) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return "(?:)", true, 1
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			if !pgRune(r) {
				return w.refuse()
			}
			if re.Flags&syntax.FoldCase != 0 {
				orbit := foldOrbit(r)
				cost += len(orbit)
				b.WriteString(pgClass(runePairs(orbit)))
			} else {
				cost++
				b.WriteString(pgEscape(r))
			}
		}
		return b.String(), len(re.Rune) == 1, cost
	case syntax.OpCharClass:
		ranges := pgRanges(re.Rune)
		if len(ranges) == 0 {
			return w.refuse() // matches nothing PostgreSQL can hold
		}
		return pgClass(ranges), true, max(1, len(ranges)/2)
	case syntax.OpAnyCharNotNL:
		return `[^\u000A]`, true, 1
	case syntax.OpAnyChar:
		return ".", true, 1
	case syntax.OpBeginText:
		return "^", false, 1
	case syntax.OpEndText:
		return "$", false, 1
	case syntax.OpBeginLine:
		return `(?:^|(?<=\u000A))`, false, 1
	case syntax.OpEndLine:
		return `(?:$|(?=\u000A))`, false, 1
	case syntax.OpWordBoundary:
		return "(?:(?<=" + pgWordClass + ")(?!" + pgWordClass + ")|(?<!" + pgWordClass + ")(?=" + pgWordClass + "))", false, 4
	case syntax.OpNoWordBoundary:
		return "(?:(?<=" + pgWordClass + ")(?=" + pgWordClass + ")|(?<!" + pgWordClass + ")(?!" + pgWordClass + "))", false, 4
	case syntax.OpCapture:
		sub, atom, cost := w.write(re.Sub[0])
		return group(sub, atom), true, cost
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		if zeroWidth(re.Sub[0]) {
			return w.refuse()
		}
		sub, atom, cost := w.write(re.Sub[0])
		op := map[syntax.Op]string{syntax.OpStar: "*", syntax.OpPlus: "+", syntax.OpQuest: "?"}[re.Op]
		return group(sub, atom) + op, false, cost + 1
	case syntax.OpRepeat:
		if zeroWidth(re.Sub[0]) || re.Min > pgDupMax || re.Max > pgDupMax {
			return w.refuse()
		}
		sub, atom, cost := w.write(re.Sub[0])
		n := re.Max
		var q string
		switch {
		case re.Max < 0:
			n = re.Min + 1
			q = fmt.Sprintf("{%d,}", re.Min)
		case re.Min == re.Max:
			q = fmt.Sprintf("{%d}", re.Min)
		default:
			q = fmt.Sprintf("{%d,%d}", re.Min, re.Max)
		}
		return group(sub, atom) + q, false, cost * max(1, n)
	case syntax.OpConcat, syntax.OpAlternate:
		var parts []string
		for _, sub := range re.Sub {
			s, _, c := w.write(sub)
			parts = append(parts, s)
			cost += c
		}
		if re.Op == syntax.OpConcat {
			return strings.Join(parts, ""), false, cost
		}
		return "(?:" + strings.Join(parts, "|") + ")", true, cost
	}
	return w.refuse() // OpNoMatch, and any op Go adds later
}

// group returns s as an atom that a quantifier may follow.
func group(s string, atom bool) string {
	if atom {
		return s
	}
	return "(?:" + s + ")"
}

// zeroWidth reports whether re may match by assertions and empty
// matches alone, which PostgreSQL may refuse to repeat ("quantifier
// operand invalid"); Go accepts them, to no use.
func zeroWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpCapture, syntax.OpConcat:
		return !slices.ContainsFunc(re.Sub, func(sub *syntax.Regexp) bool { return !zeroWidth(sub) })
	case syntax.OpAlternate, syntax.OpStar, syntax.OpQuest, syntax.OpRepeat, syntax.OpPlus:
		return slices.ContainsFunc(re.Sub, zeroWidth)
	}
	return false
}

// pgRune reports whether PostgreSQL text can hold r: not NUL, not a
// surrogate.
func pgRune(r rune) bool {
	return r > 0 && r <= unicode.MaxRune && !(r >= 0xD800 && r <= 0xDFFF)
}

// foldOrbit returns the runes that r matches ignoring case, as Go's
// regexp folds them, in order.
func foldOrbit(r rune) []rune {
	orbit := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		orbit = append(orbit, f)
	}
	slices.Sort(orbit)
	return orbit
}

// runePairs returns sorted runes as the ranges of a class, lo and hi
// pairs.
func runePairs(rs []rune) []rune {
	var out []rune
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1]+1 == r {
			out[n-1] = r
			continue
		}
		out = append(out, r, r)
	}
	return out
}

// pgRanges returns the ranges of a class (lo and hi pairs, sorted, as
// regexp/syntax keeps them) without the runes that PostgreSQL text
// cannot hold.
func pgRanges(ranges []rune) []rune {
	var out []rune
	add := func(lo, hi rune) {
		if lo <= hi {
			out = append(out, lo, hi)
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := max(ranges[i], 1), min(ranges[i+1], unicode.MaxRune)
		if lo <= 0xDFFF && hi >= 0xD800 {
			add(lo, 0xD7FF)
			add(0xE000, hi)
			continue
		}
		add(lo, hi)
	}
	return out
}

// pgClass writes the class of the ranges of runes PostgreSQL text can
// hold (lo and hi pairs, sorted): the runes of ranges, or, shorter, the
// runes outside them.
func pgClass(ranges []rune) string {
	if len(ranges) == 2 && ranges[0] == ranges[1] {
		return pgEscape(ranges[0])
	}
	// The complement, among the runes text can hold.
	var comp []rune
	next := rune(1)
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] > next {
			comp = append(comp, next, ranges[i]-1)
		}
		next = ranges[i+1] + 1
	}
	if next <= unicode.MaxRune {
		comp = append(comp, next, unicode.MaxRune)
	}
	comp = pgRanges(comp)
	var b strings.Builder
	b.WriteByte('[')
	if len(comp) < len(ranges) {
		if len(comp) == 0 {
			return "." // every rune text can hold
		}
		b.WriteByte('^')
		ranges = comp
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		b.WriteString(pgEscape(lo))
		if hi > lo+1 {
			b.WriteByte('-')
		}
		if hi > lo {
			b.WriteString(pgEscape(hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// pgEscape writes r for a PostgreSQL regular expression, in a bracket
// expression or out of one: an ASCII letter or digit as it is, any other
// rune as \uXXXX or \UXXXXXXXX (exactly 4 and 8 hex digits, where \x
// would take as many as follow).
func pgEscape(r rune) string {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return string(r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04X`, r)
	}
	return fmt.Sprintf(`\U%08X`, r)
}
