package redact

import (
	"errors"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bodytap/bodytap/internal/media"
)

// redactHeader returns h with the values of sensitive headers replaced. It
// never writes to h: when something changes it returns a new map that
// shares the unchanged value slices with h. It does not allocate when
// nothing changes.
func (r *Options) redactHeader(h http.Header) (http.Header, Detector) {
	var out http.Header
	var found Detector
	for k, vv := range h {
		nv, f := r.redactHeaderValues(k, vv)
		found |= f
		if nv == nil {
			continue
		}
		if out == nil {
			out = maps.Clone(h)
		}
		out[k] = nv
	}
	if out == nil {
		return h, found
	}
	return out, found
}

// redactHeaderValues returns the values of the header named k with secrets
// replaced, in a new slice, or nil if nothing needs to change, and which
// detectors found secrets.
func (r *Options) redactHeaderValues(k string, vv []string) (_ []string, found Detector) {
	kind, ok := commonHeaderKinds[k]
	if !ok {
		kind = builtinHeaderKind(k)
	}
	switch {
	case kind < secret && r.listedHeader(k):
		kind = secret
	case kind == other && r.Detect&AllDetectors == 0:
		return nil, 0
	}
	repl := r.replacement()
	var out []string
	for i, v := range vv {
		var nv string
		var changed bool
		switch kind {
		case cookie, setCookie:
			nv, changed = redactCookies(v, kind == setCookie, repl)
		case secret:
			nv, changed = repl, v != "" && v != repl
		case withURL:
			nv, changed = r.redactURLString(v)
			if t, f := r.Text(nv); f != 0 {
				nv, changed, found = t, true, found|f
			}
		case other:
			if t, f := r.Text(v); f != 0 {
				nv, changed, found = t, true, found|f
			}
		}
		if !changed {
			continue
		}
		if out == nil {
			out = make([]string, len(vv))
			copy(out, vv)
		}
		out[i] = nv
	}
	return out, found
}

// What redaction does with a header, by its name.
const (
	other     headerKind = iota // run the detectors only
	withURL                     // a URL: its query and password too
	secret                      // hide the value
	cookie                      // hide each cookie's value
	setCookie                   // hide the cookie's value, keep its attributes
)

type headerKind uint8

// builtinHeaderKind returns what the built-in rules do with the header
// named k.
func builtinHeaderKind(k string) headerKind {
	switch {
	case equalFoldASCII(k, "Cookie"):
		return cookie
	case equalFoldASCII(k, "Set-Cookie"):
		return setCookie
	case sensitiveHeader(k):
		return secret
	case equalFoldASCII(k, "Referer") || equalFoldASCII(k, "Location") || equalFoldASCII(k, "Content-Location"):
		return withURL
	}
	return other
}

// commonHeaderKinds holds builtinHeaderKind of the header names most
// requests and responses carry, as net/http spells them, so that they
// are looked up rather than matched word by word.
var commonHeaderKinds = func() map[string]headerKind {
	m := make(map[string]headerKind)
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Access-Control-Allow-Origin",
		"Age", "Authorization", "Cache-Control", "Connection", "Content-Disposition", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Location", "Content-Range", "Content-Security-Policy",
		"Content-Type", "Cookie", "Date", "Etag", "Expect", "Expires", "Forwarded", "Host", "If-Match",
		"If-Modified-Since", "If-None-Match", "Last-Modified", "Link", "Location", "Origin", "Pragma",
		"Range", "Referer", "Referrer-Policy", "Retry-After", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Traceparent", "Tracestate", "Transfer-Encoding", "Upgrade",
		"User-Agent", "Vary", "Via", "X-Content-Type-Options", "X-Forwarded-For", "X-Forwarded-Host",
		"X-Forwarded-Proto", "X-Frame-Options", "X-Real-Ip", "X-Request-Id",
	} {
		m[k] = builtinHeaderKind(k)
	}
	return m
}()

// equalFoldASCII reports whether s and t are equal ignoring ASCII case.
func equalFoldASCII[S string | []byte](s S, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if lowerASCII(s[i]) != lowerASCII(t[i]) {
			return false
		}
	}
	return true
}

// redactCookies hides the values in a Cookie header value ("a=1; b=2"), or
// with set, the value of a Set-Cookie header ("a=1; Path=/; HttpOnly"),
// whose attributes are kept. A cookie without '=' is hidden whole.
func redactCookies(v string, set bool, repl string) (string, bool) {
	var sp splicer
	for pos := 0; pos <= len(v); {
		end := strings.IndexByte(v[pos:], ';')
		if end < 0 {
			end = len(v)
		} else {
			end += pos
		}
		part := v[pos:end]
		// The value starts after '=', or at the first non-blank byte of a
		// cookie without a name.
		start := strings.IndexByte(part, '=') + 1
		if start == 0 {
			start = len(part) - len(strings.TrimLeft(part, " \t"))
		}
		stop := len(strings.TrimRight(part, " \t"))
		if stop > start && part[start:stop] != repl {
			splice(&sp, v, pos+start, pos+stop, repl)
		}
		if set {
			break // the rest are attributes
		}
		pos = end + 1
	}
	if sp.n == 0 {
		return v, false
	}
	return string(spliced(&sp, v)), true
}

// redactURLString hides the sensitive query parameters and the userinfo
// password of a URL in a header value, such as Referer.
func (r *Options) redactURLString(v string) (string, bool) {
	changed := false
	if strings.IndexByte(v, '@') >= 0 {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), r.replacement())
				v, changed = u.String(), true
			}
		}
	}
	q := strings.IndexByte(v, '?')
	if q < 0 {
		return v, changed
	}
	end := len(v)
	if h := strings.IndexByte(v[q:], '#'); h >= 0 {
		end = q + h
	}
	out, n := r.redactForm(v[q+1 : end])
	if n == 0 {
		return v, changed
	}
	return v[:q+1] + string(out) + v[end:], true
}

// A splicer builds a copy of an input with spans of it replaced. It copies
// nothing until it has the spans of the whole input, or more spans than it
// keeps (spliceBatch), so that an input with nothing to hide costs
// nothing, and one with a few things to hide costs one allocation, of the
// exact size of the copy.
type splicer struct {
	out  []byte // the copy so far, nil until the first flush
	last int    // in[last:] is not copied yet
	n    int    // spans replaced
	grow int    // how much the spans so far add to the length of in
	kept int    // spans pending in span, not yet in out
	span [spliceBatch]struct {
		from, to int
		with     string
	}
}

// spliceBatch is how many spans a splicer keeps before it starts the copy.
const spliceBatch = 16

// splice replaces in[from:to] with with. Spans must come in order.
func splice[S string | []byte](sp *splicer, in S, from, to int, with string) {
	if sp.kept == len(sp.span) {
		if sp.out == nil {
			sp.out = make([]byte, 0, spliceEstimate(len(in), sp.grow, sp.span[sp.kept-1].to))
		}
		flushSpans(sp, in)
	}
	p := &sp.span[sp.kept]
	p.from, p.to, p.with = from, to, with
	sp.kept++
	sp.n++
	sp.grow += len(with) - (to - from)
}

// spliceEstimate returns the capacity to give the copy of an input of n
// bytes when spans ending at to have added grow bytes: the growth seen so
// far, carried on to the end, and some room to spare. A short estimate
// costs one more allocation.
func spliceEstimate(n, grow, to int) int {
	extra := n / 64
	if grow > 0 {
		extra += int(int64(grow) * int64(n) / int64(max(to, 1)))
	}
	return n + extra
}

// spliced returns the copy of in that sp built, or nil if nothing was
// replaced.
func spliced[S string | []byte](sp *splicer, in S) []byte {
	if sp.n == 0 {
		return nil
	}
	need := len(in) + sp.grow
	if sp.out == nil {
		sp.out = make([]byte, 0, need)
	} else if cap(sp.out) < need {
		sp.out = slices.Grow(sp.out, need-len(sp.out))
	}
	flushSpans(sp, in)
	return append(sp.out, in[sp.last:]...)
}

// flushSpans copies the spans that sp keeps, and the input between them,
// to sp.out.
func flushSpans[S string | []byte](sp *splicer, in S) {
	for k := range sp.kept {
		p := &sp.span[k]
		sp.out = append(sp.out, in[sp.last:p.from]...)
		sp.out = append(sp.out, p.with...)
		sp.last = p.to
		p.with = ""
	}
	sp.kept = 0
}

// reset empties sp for a new copy of the same input, keeping its buffer.
func (sp *splicer) reset() {
	*sp = splicer{out: sp.out[:0]}
}

// Errors that withhold a body: recorded in Body.Err with Body.Withheld.
var (
	errNoBoundary   = errors.New("bodytap: cannot find the multipart boundary to redact the body; withheld")
	errPartsTooDeep = errors.New("bodytap: multipart nested too deep to redact; withheld")
	errJSONNotUTF8  = errors.New("bodytap: cannot redact a JSON body that is not UTF-8; withheld")
)

// maxPartDepth bounds how deep multipart bodies nested in multipart bodies
// are looked into.
const maxPartDepth = 4

// redactBody returns b with its sensitive values replaced, reading it as the
// Content-Type ct says, and the number of values replaced; out is nil when
// none was. An error means that b cannot be made safe and must not be kept.
func (r *Options) redactBody(ct string, b []byte, depth int) (out []byte, n int, found Detector, err error) {
	switch FormatOf(ct, b) {
	case FormatJSON:
		return r.redactJSONFound(b)
	case FormatForm:
		out, n, found := redactPairsIn(r, b, false)
		return out, n, found, nil
	case FormatMultipart:
		if depth >= maxPartDepth {
			return nil, 0, 0, errPartsTooDeep
		}
		return r.redactMultipartFound(ct, b, depth)
	case FormatText:
		if r.Detect&AllDetectors == 0 {
			return nil, 0, 0, nil
		}
		repl := r.replacement()
		if strings.Contains(media.Type(ct), "xml") {
			repl = xmlRepl.of(repl)
		}
		out, n, found := redactText(r.Detect, b, repl)
		return out, n, found, nil
	}
	return nil, 0, 0, nil
}

// redactText replaces the secrets that the detectors det find in the text
// s with repl.
func redactText[S string | []byte](det Detector, s S, repl string) (out []byte, n int, found Detector) {
	if len(s) < minSecret {
		return nil, 0, 0
	}
	var sp splicer
	for from := 0; from < len(s); {
		f, t, w := find(det, s, from, len(s), modeText)
		if w == 0 {
			break
		}
		splice(&sp, s, f, t, repl)
		found |= w
		from = t
	}
	return spliced(&sp, s), sp.n, found
}

// xmlRepl caches the replacement escaped for XML text.
var xmlRepl = encodedRepl{encode: html.EscapeString}

// A Format is how redaction reads a body.
type Format uint8

const (
	FormatNone      Format = iota // not looked into
	FormatJSON                    // JSON or a stream of JSON values
	FormatForm                    // application/x-www-form-urlencoded
	FormatMultipart               // multipart/*
	FormatText                    // other text (XML included): value detectors only
)

// FormatOf returns how redaction reads a body b whose Content-Type is ct:
// JSON when [media.IsJSON] says so (a form whose body starts with '{' or
// '[' included), else a form or multipart by type, else text when
// [media.IsText] says so, else not at all.
func FormatOf(ct string, b []byte) Format {
	if media.IsJSON(ct, b) {
		return FormatJSON
	}
	switch mt := media.Type(ct); {
	case mt == "application/x-www-form-urlencoded":
		return FormatForm
	case strings.HasPrefix(mt, "multipart/"):
		return FormatMultipart
	}
	if media.IsText(ct, b) {
		return FormatText
	}
	return FormatNone
}
