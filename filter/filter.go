// Package filter implements the filter expressions that bodytap's CLI,
// store and viewer share: mitmproxy's flow filter language
// ("~m POST & ~u /api & !~c 200"), with a few extensions for what bodytap
// records (status classes, durations, sizes, route, path globs).
package filter

import (
	"errors"

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
func Parse(expr string) (*Filter, error) {
	return nil, errors.New("filter: not implemented yet") // STUB: being implemented
}

// Match reports whether the exchange matches the filter. A nil Filter
// matches everything.
func (f *Filter) Match(x *bodytap.Exchange) bool {
	return f == nil || f.Root == nil
}

// String returns the expression as it was parsed.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}
