package pgstore

import (
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/relit"
)

// Deciding a body search in Go costs reading the whole exchange: its
// bodies, and its JSON form (decompressed and decoded: most of the cost).
// The bodies alone often tell: a filter that needs a word in a body (~b
// password, alone or and-ed with other conditions) cannot match an
// exchange whose bodies lack it. load looks at the bodies first and
// decodes the rest only for the exchanges that may match.

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
			if need.lits = relit.Of(n.Re); len(need.lits) > 0 {
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
