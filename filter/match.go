package filter

import (
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/relit"
)

// An evaluator evaluates a tree against one exchange.
type evaluator struct {
	x *bodytap.Exchange

	// url caches Request.URL.String() for the ~u operators of one
	// evaluation.
	url     string
	haveURL bool
}

// eval reports whether n matches. A nil node matches, like a nil Root;
// a node of a type that Parse does not build (a pointer, say) does not.
func (e *evaluator) eval(n Node) bool {
	switch n := n.(type) {
	case nil:
		return true
	case And:
		return e.eval(n.X) && e.eval(n.Y)
	case Or:
		return e.eval(n.X) || e.eval(n.Y)
	case Not:
		return !e.eval(n.X)
	case Flag:
		return e.flag(n.Op)
	case Match:
		return e.match(&n)
	case Status:
		return e.status(n)
	case Compare:
		return e.compare(n)
	case Path:
		return e.path(n)
	}
	return false
}

// hasResponse reports whether a response was sent, as ~s does.
func (e *evaluator) hasResponse() bool { return e.x.Response.Status != 0 }

func (e *evaluator) flag(op Op) bool {
	x := e.x
	switch op {
	case OpAll, OpHTTP:
		return true
	case OpAsset:
		return e.hasResponse() && isAsset(x.Response.Header)
	case OpError:
		return x.Err != nil
	case OpNoResp:
		return !e.hasResponse()
	case OpResponse:
		return e.hasResponse()
	case OpWebsocket:
		return x.Hijacked && hasToken(x.Request.Header, "Upgrade", "websocket")
	}
	return false
}

func (e *evaluator) match(m *Match) bool {
	re := m.Re
	if re == nil {
		// A hand-built Match: compile it now.
		c, err := compileMatch(m.Op, m.Pattern)
		if err != nil {
			return false
		}
		re = c.Re
	}
	x := e.x
	switch m.Op {
	case OpMethod:
		return re.MatchString(x.Request.Method)
	case OpURL:
		if !e.haveURL {
			if x.Request.URL != nil {
				e.url = x.Request.URL.String()
			}
			e.haveURL = true
		}
		return re.MatchString(e.url)
	case OpDomain:
		return re.MatchString(e.hostname())
	case OpHeader:
		return matchHeader(re, x.Request.Header) ||
			e.hasResponse() && matchHeader(re, x.Response.Header)
	case OpReqHeader:
		return matchHeader(re, x.Request.Header)
	case OpRespHeader:
		return e.hasResponse() && matchHeader(re, x.Response.Header)
	case OpBody:
		return matchBody(re, &x.Request.Body) ||
			e.hasResponse() && matchBody(re, &x.Response.Body)
	case OpReqBody:
		return matchBody(re, &x.Request.Body)
	case OpRespBody:
		return e.hasResponse() && matchBody(re, &x.Response.Body)
	case OpContentType:
		return matchContentType(re, x.Request.Header) ||
			e.hasResponse() && matchContentType(re, x.Response.Header)
	case OpReqContentType:
		return matchContentType(re, x.Request.Header)
	case OpRespContentType:
		return e.hasResponse() && matchContentType(re, x.Response.Header)
	case OpSrc:
		return re.MatchString(x.Request.RemoteAddr)
	case OpDst:
		return e.matchDst(re)
	case OpRoute:
		return re.MatchString(x.Route)
	}
	return false
}

func (e *evaluator) status(s Status) bool {
	c := e.x.Response.Status
	return c != 0 && s.Lo <= c && c <= s.Hi
}

func (e *evaluator) compare(c Compare) bool {
	x := e.x
	var v int64
	switch c.Op {
	case OpDuration:
		v = int64(x.Duration)
	case OpSize:
		v = max(x.Request.Body.Size, x.Response.Body.Size)
	case OpReqSize:
		v = x.Request.Body.Size
	case OpRespSize:
		v = x.Response.Body.Size
	default:
		return false
	}
	switch c.Cmp {
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "=":
		return v == c.Value
	}
	return false
}

func (e *evaluator) path(p Path) bool {
	var path string
	if u := e.x.Request.URL; u != nil {
		path = u.Path
	}
	return matchGlob(p.Glob, path)
}

// hostname returns the request host without port, as ~d sees it.
func (e *evaluator) hostname() string { return Domain(&e.x.Request) }

// Domain returns the host that ~d matches: the request's host without its
// port, from the URL, or else from Request.Host. A store that indexes it
// finds what Match would.
func Domain(r *bodytap.Request) string {
	if r.URL != nil {
		if h := r.URL.Hostname(); h != "" {
			return h
		}
	}
	h, _ := splitHostPort(r.Host)
	return h
}

// matchDst matches re against the server address, host:port, with the
// scheme's default port when the request names none.
func (e *evaluator) matchDst(re *regexp.Regexp) bool {
	r := &e.x.Request
	var host, port, scheme string
	if r.URL != nil {
		host, port, scheme = r.URL.Hostname(), r.URL.Port(), r.URL.Scheme
	}
	if host == "" {
		host, port = splitHostPort(r.Host)
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	buf := getBuf()
	b := *buf
	if strings.IndexByte(host, ':') >= 0 {
		b = append(b, '[')
		b = append(b, host...)
		b = append(b, ']')
	} else {
		b = append(b, host...)
	}
	if port != "" {
		b = append(b, ':')
		b = append(b, port...)
	}
	ok := re.Match(b)
	putBuf(buf, b)
	return ok
}

// defaultPort returns the port a URL scheme implies, or "".
func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; a bare
// IPv6 address (more than one colon, no brackets) is all host. It never
// fails: what it cannot split is host.
func splitHostPort(hostport string) (host, port string) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return hostport, ""
		}
		host, rest := hostport[1:end], hostport[end+1:]
		if p, ok := strings.CutPrefix(rest, ":"); ok {
			port = p
		}
		return host, port
	}
	if i := strings.IndexByte(hostport, ':'); i >= 0 && strings.IndexByte(hostport[i+1:], ':') < 0 {
		return hostport[:i], hostport[i+1:]
	}
	return hostport, ""
}

// bufPool holds buffers for building the strings that some operators
// match ("Name: value" header lines, host:port), so that Match does not
// allocate for them.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns buf to the pool with b, its grown contents, unless it has
// grown too large to keep.
func putBuf(buf *[]byte, b []byte) {
	if cap(b) > 64<<10 {
		return
	}
	*buf = b[:0]
	bufPool.Put(buf)
}

// matchHeader reports whether re matches one of the lines "Name: value"
// of h, one line per value, with the name in canonical form.
func matchHeader(re *regexp.Regexp, h http.Header) bool {
	if len(h) == 0 {
		return false
	}
	buf := getBuf()
	b := *buf
	ok := false
Header:
	for name, values := range h {
		b = appendCanonicalKey(b[:0], name)
		b = append(b, ": "...)
		n := len(b)
		for _, v := range values {
			b = append(b[:n], v...)
			if re.Match(b) {
				ok = true
				break Header
			}
		}
	}
	putBuf(buf, b)
	return ok
}

// appendCanonicalKey appends the canonical form of the header name s, as
// http.CanonicalHeaderKey returns it, without allocating.
func appendCanonicalKey(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return append(b, s...) // left alone, as net/http does
		}
	}
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b
}

// isTokenChar reports whether c may appear in a header name (RFC 9110
// token).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerValues calls fn with each value of the header name (any case) in
// h until fn returns true, and reports whether it did.
func headerValues(h http.Header, name string, fn func(string) bool) bool {
	for k, values := range h {
		if !strings.EqualFold(k, name) {
			continue
		}
		for _, v := range values {
			if fn(v) {
				return true
			}
		}
	}
	return false
}

// matchContentType reports whether re matches a Content-Type of h.
func matchContentType(re *regexp.Regexp, h http.Header) bool {
	return headerValues(h, "Content-Type", re.MatchString)
}

// assetTypes are the Content-Types of assets, as mitmproxy's ~a has them:
// a Content-Type containing one of them (ignoring case) is an asset's.
var assetTypes = []string{
	"text/javascript",
	"application/x-javascript",
	"application/javascript",
	"text/css",
	"image/",
	"font/",
	"application/font",
}

// isAsset reports whether a Content-Type of h is an asset's.
func isAsset(h http.Header) bool {
	return headerValues(h, "Content-Type", func(v string) bool {
		for _, t := range assetTypes {
			if relit.ContainsFold(v, t) {
				return true
			}
		}
		return false
	})
}

// hasToken reports whether a value of the header name in h lists token
// (ignoring case), as "Upgrade: websocket" or "Connection: keep-alive,
// Upgrade" do.
func hasToken(h http.Header, name, token string) bool {
	return headerValues(h, name, func(v string) bool {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
		return false
	})
}

// matchBody reports whether re matches the kept copy of b. A withheld
// copy matches nothing.
func matchBody(re *regexp.Regexp, b *bodytap.Body) bool {
	return !b.Withheld && mayMatch(re, b.Bytes) && re.Match(b.Bytes)
}
