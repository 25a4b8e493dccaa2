// Package filter implements the filter expressions that bodytap's CLI,
// store and viewer share: mitmproxy's flow filter language
// ("~m POST & ~u /api & !~c 200"), with a few extensions for what bodytap
// records (status classes, durations, sizes, route, path globs).
//
// An expression is built from operators and the connectives ! (not),
// & (and) and | (or), with parentheses for grouping:
//
//	~m POST & ~u /api & !~c 200
//	~d example.com ~c 5xx          (two terms side by side: "and")
//	~path "/users/*/orders" | ~route "GET /health"
//	~dur >250ms & ~sizes >=1MiB
//
// Most operators take a regular expression in Go's RE2 syntax, matched
// against one part of the exchange: ~u the URL, ~m the method, ~h the
// header lines, ~b the bodies and so on. A word without an operator
// matches the URL. [Help] describes every operator, the quoting rules and
// how bodytap differs from mitmproxy; it is the text of
// "bodytap help filters".
//
// [Parse] turns an expression into a [Filter], whose Root is a tree of
// [Node] values that a store may translate (to SQL, say) and that
// [Filter.Match] evaluates against a [bodytap.Exchange]. [Format] prints a
// tree back as an expression.
//
// A store that translates a tree must read an exchange as Match does:
//
//   - [Match.Re] carries the operator's flags: (?i) for every operator
//     (as in mitmproxy since 11.1; a pattern may start with (?-i)), (?m)
//     for the header operators, (?s) for the body operators.
//   - [Match.Literal] is set when the pattern is a plain text, possibly
//     spelled with escapes (`a\.b` gives "a.b"); compared ignoring case
//     it selects a superset of what Re matches (a prefilter).
//   - Header lines are "Name: value", one per value, with the name in
//     canonical form, matched one line at a time.
//   - The response operators never match an exchange without a response
//     (Response.Status == 0).
package filter

import (
	"fmt"

	"github.com/bodytap/bodytap"
)

// A Filter is a parsed filter expression.
type Filter struct {
	// Root is the expression tree; nil for the empty expression, which
	// matches everything.
	Root Node
	src  string
}

// Parse parses a filter expression. An empty (or all-space) expression
// gives a Filter that matches everything. Errors name the offending
// token and its position in one line.
//
// The error is a [*SyntaxError].
func Parse(expr string) (*Filter, error) {
	root, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return &Filter{Root: root, src: expr}, nil
}

// Match reports whether the exchange matches the filter. A nil Filter
// matches everything.
//
// Match does not modify x and is safe for concurrent use. A nil exchange
// matches only the empty filter. Root must hold the node types as values,
// as Parse builds them; a node of another type (a pointer, say) does not
// match, and a nil node matches. A Match whose Re is nil is compiled from
// its Pattern on each call.
func (f *Filter) Match(x *bodytap.Exchange) bool {
	if f == nil || f.Root == nil {
		return true
	}
	if x == nil {
		return false
	}
	e := evaluator{x: x}
	return e.eval(f.Root)
}

// String returns the expression as it was parsed.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}

// A SyntaxError describes an expression that does not parse.
type SyntaxError struct {
	// Pos is the position of the offending token, counted in characters
	// from 1; a position one past the end means the expression ended too
	// soon. It is 0 when the error has no position.
	Pos int
	// Msg says what is wrong, without the position.
	Msg string
	// Err is the underlying error, if any: from package regexp, say.
	Err error
}

// Error returns the error in one line, as
// `filter: position 7: unknown operator "~x"`.
func (e *SyntaxError) Error() string {
	if e.Pos <= 0 {
		return "filter: " + e.Msg
	}
	return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg)
}

// Unwrap returns the underlying error, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }
