package filter

import "regexp"

// A Node is one node of a parsed filter expression: [And], [Or], [Not],
// [Flag], [Match], [Status], [Compare] or [Path]. The store walks the tree
// to compile what it can to SQL; [Filter.Match] evaluates it in Go.
type Node interface{ node() }

// And matches when both X and Y match ("a & b", or "a b").
type And struct{ X, Y Node }

// Or matches when X or Y matches ("a | b").
type Or struct{ X, Y Node }

// Not matches when X does not ("!a").
type Not struct{ X Node }

// Op names a filter operator.
type Op string

// The operators. Those of mitmproxy's flow filter language keep its
// spelling and meaning; the extensions are marked.
const (
	// Flags: operators without an argument.
	OpAll       Op = "~all"       // every exchange
	OpAsset     Op = "~a"         // response is an asset: CSS, JavaScript, image, font
	OpError     Op = "~e"         // the exchange has an error (Exchange.Err)
	OpHTTP      Op = "~http"      // an HTTP exchange (every exchange bodytap records)
	OpNoResp    Op = "~q"         // request without a response (Response.Status == 0)
	OpResponse  Op = "~s"         // has a response (Response.Status != 0)
	OpWebsocket Op = "~websocket" // a websocket upgrade (hijacked with Upgrade: websocket)

	// Regular expressions (Go RE2 syntax), matched against a part of the
	// exchange.
	OpMethod          Op = "~m"     // request method, case-insensitive
	OpURL             Op = "~u"     // full request URL; also what a bare word means
	OpDomain          Op = "~d"     // request host, case-insensitive
	OpHeader          Op = "~h"     // request or response header lines "Name: value"
	OpReqHeader       Op = "~hq"    // request header lines
	OpRespHeader      Op = "~hs"    // response header lines
	OpBody            Op = "~b"     // request or response body (decoded when it was)
	OpReqBody         Op = "~bq"    // request body
	OpRespBody        Op = "~bs"    // response body
	OpContentType     Op = "~t"     // request or response Content-Type
	OpReqContentType  Op = "~tq"    // request Content-Type
	OpRespContentType Op = "~ts"    // response Content-Type
	OpSrc             Op = "~src"   // client address (Request.RemoteAddr)
	OpDst             Op = "~dst"   // server address: request host with port
	OpRoute           Op = "~route" // extension: the matched route pattern

	// Status: "~c 404", and as an extension "~c 5..", "~c 5xx",
	// "~c 400-499".
	OpStatus Op = "~c"

	// Comparisons, extensions: "~dur >250ms", "~size >=1M".
	OpDuration Op = "~dur"   // Exchange.Duration
	OpSize     Op = "~size"  // larger of the request and response body sizes
	OpReqSize  Op = "~sizeq" // request body size
	OpRespSize Op = "~sizes" // response body size

	// Path glob, extension: "~path /api/*" (* matches within a segment,
	// ** across segments; a pattern ending in /** or * is a prefix).
	OpPath Op = "~path"
)

// Flag is an operator without an argument.
type Flag struct{ Op Op }

// Match is an operator that matches a regular expression against a part
// of the exchange.
type Match struct {
	Op      Op
	Pattern string         // as written, unquoted
	Re      *regexp.Regexp // compiled, with the operator's flags
	// Literal is the text the pattern matches when it has no regular
	// expression syntax at all ("api", "/users"), else "". A store may use
	// it for an index or a full-text search before running Re.
	Literal string
}

// Status matches a final status code in [Lo, Hi].
type Status struct{ Lo, Hi int }

// Compare compares a number from the exchange with Value: nanoseconds
// for OpDuration, bytes for the size operators.
type Compare struct {
	Op    Op
	Cmp   string // one of "<", "<=", ">", ">=", "="
	Value int64
}

// Path matches the request path against a glob.
type Path struct {
	Glob string
	// Prefix is the literal part of Glob before its first wildcard; a
	// store may use it for a range scan before matching the glob.
	Prefix string
}

func (And) node()     {}
func (Or) node()      {}
func (Not) node()     {}
func (Flag) node()    {}
func (Match) node()   {}
func (Status) node()  {}
func (Compare) node() {}
func (Path) node()    {}
