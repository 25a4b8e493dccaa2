package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/media"
)

// DefaultIgnoredHeaders are the response headers that [Compare] never
// compares: those that change from one response to the next by nature
// (Date, Age, Expires, ETag, Last-Modified), that describe the connection
// or the framing rather than the content (Connection, Keep-Alive,
// Transfer-Encoding, Content-Length, Content-Encoding: bodies are compared
// decoded), and Server, which names the software rather than the answer.
var DefaultIgnoredHeaders = []string{
	"Age", "Connection", "Content-Encoding", "Content-Length", "Date", "Etag",
	"Expires", "Keep-Alive", "Last-Modified", "Proxy-Connection", "Server",
	"Trailer", "Transfer-Encoding", "Upgrade",
}

// MaxDiffs is how many differences Compare reports for one response at
// most.
const MaxDiffs = 20

// Rules say what to ignore when comparing. The zero value ignores only
// [DefaultIgnoredHeaders].
type Rules struct {
	// Paths are the JSON paths whose values are not compared, with what
	// is below them.
	Paths []Path

	// Headers are header names not compared, in any case, on top of
	// DefaultIgnoredHeaders.
	Headers []string
}

func (r *Rules) ignoresHeader(name string) bool {
	for _, set := range [][]string{DefaultIgnoredHeaders, r.Headers} {
		for _, h := range set {
			if strings.EqualFold(h, name) {
				return true
			}
		}
	}
	return false
}

func (r *Rules) ignoresPath(at Path) bool {
	for _, p := range r.Paths {
		if p.covers(at) {
			return true
		}
	}
	return false
}

// A Diff is one difference between the recorded response and the new one.
type Diff struct {
	// Where names what differs: "status", "header X-Name", a JSON path
	// such as "$.user.name", "line 12", or "body".
	Where string `json:"where"`

	// Path is the JSON path of a body difference, nil for others.
	Path Path `json:"-"`

	// Recorded and Got are the two values, shortened; "" for one that is
	// absent, such as a header only one response has.
	Recorded string `json:"recorded"`
	Got      string `json:"got"`
}

func (d Diff) String() string {
	return fmt.Sprintf("%s: %s -> %s", d.Where, orAbsent(d.Recorded), orAbsent(d.Got))
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// A Message is one response as Compare sees it: its body as on the wire,
// with Content-Encoding still applied.
type Message struct {
	Status int
	Header http.Header
	Body   []byte

	// Host is the host the request went to; a Location header pointing
	// at it is compared without scheme and host.
	Host string

	// Partial reports that Body is only the start of the whole body (it
	// was truncated or withheld at capture, or only partly read): only
	// that start is compared, with the start of the other body.
	Partial bool

	// Redacted reports that values in Body were replaced by "[REDACTED]":
	// such JSON strings match anything.
	Redacted bool
}

// Compare returns the differences between the recorded response rec and
// the new one got, at most [MaxDiffs] of them, ignoring what rules say.
func Compare(rec, got *Message, rules *Rules) []Diff {
	return compare(rec, got, rules, MaxDiffs)
}

// compare is Compare with limit differences at most.
func compare(rec, got *Message, rules *Rules, limit int) []Diff {
	c := &comparer{rules: rules, limit: limit}
	if rec.Status != got.Status {
		c.add(Diff{Where: "status", Recorded: fmt.Sprint(rec.Status), Got: fmt.Sprint(got.Status)})
	}
	c.headers(rec, got)
	c.body(rec, got)
	return c.diffs
}

type comparer struct {
	rules    *Rules
	limit    int // differences kept at most
	diffs    []Diff
	redacted bool // the recorded body was redacted
}

func (c *comparer) add(d Diff) {
	if len(c.diffs) < c.limit {
		c.diffs = append(c.diffs, d)
	}
}

func (c *comparer) full() bool { return len(c.diffs) >= c.limit }

func (c *comparer) headers(rec, got *Message) {
	names := map[string]bool{}
	for k := range rec.Header {
		names[http.CanonicalHeaderKey(k)] = true
	}
	for k := range got.Header {
		names[http.CanonicalHeaderKey(k)] = true
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range names {
			if !yield(k) {
				return
			}
		}
	}) {
		if c.rules.ignoresHeader(k) {
			continue
		}
		if k == "Content-Type" && len(rec.Header.Values(k)) == 0 {
			continue // net/http sniffed it; the Tap did not record it
		}
		a, b := headerValue(rec, k), headerValue(got, k)
		if a != b {
			c.add(Diff{Where: "header " + k, Recorded: short(a), Got: short(b)})
		}
	}
}

// headerValue is the value of header k in m as compared: lines joined,
// Set-Cookie reduced to cookie names, Location relative to m's host.
func headerValue(m *Message, k string) string {
	vs := m.Header.Values(k)
	switch k {
	case "Set-Cookie":
		var names []string
		for _, v := range vs {
			name, _, _ := strings.Cut(v, "=")
			names = append(names, strings.TrimSpace(name)+"=…")
		}
		slices.Sort(names)
		vs = names
	case "Location":
		for i, v := range vs {
			if u, err := url.Parse(v); err == nil && u.IsAbs() && strings.EqualFold(u.Host, m.Host) {
				u.Scheme, u.Host = "", ""
				vs[i] = u.String()
			}
		}
	}
	return strings.Join(vs, ", ")
}

func (c *comparer) body(rec, got *Message) {
	if rec.Partial || got.Partial {
		c.prefix(rec, got)
		return
	}
	a, errA := decoded(rec)
	b, errB := decoded(got)
	if errA != nil || errB != nil {
		// Undecodable: compare the bytes as they came.
		a, b = rec.Body, got.Body
	}
	if bytes.Equal(a, b) {
		return
	}
	switch kind(rec.Header, got.Header, a) {
	case "json":
		va, errA := parseJSON(a)
		vb, errB := parseJSON(b)
		if errA == nil && errB == nil {
			c.redacted = rec.Redacted
			c.json(Path{}, va, vb)
			return
		}
		c.lines(a, b)
	case "text":
		c.lines(a, b)
	default:
		c.add(Diff{Where: "body", Recorded: digest(a), Got: digest(b)})
	}
}

// prefix compares the start of the body that a partial message kept
// with as much of the other body: a partial recording cannot show a
// difference past what it kept, but it can show one before. A redacted
// recording is not compared, its bytes being altered.
func (c *comparer) prefix(rec, got *Message) {
	a, errA := decoded(rec)
	b, errB := decoded(got)
	if errA != nil || errB != nil || rec.Redacted {
		return
	}
	n := len(a)
	if rec.Partial && got.Partial {
		n = min(len(a), len(b))
	} else if got.Partial {
		n = len(b)
	}
	if n == 0 || (len(a) >= n && len(b) >= n && bytes.Equal(a[:n], b[:n])) {
		return
	}
	k := 0
	for k < min(n, len(a), len(b)) && a[k] == b[k] {
		k++
	}
	d := Diff{Where: fmt.Sprintf("body at byte %d", k)}
	if kind(rec.Header, got.Header, a) == "binary" {
		d.Recorded, d.Got = digest(a[:min(n, len(a))]), digest(b[:min(n, len(b))])
	} else {
		d.Recorded, d.Got = short(string(a[k:min(n, len(a))])), short(string(b[k:min(n, len(b))]))
	}
	c.add(d)
}

// decoded returns m's body with its content codings undone; a partial
// body decodes to the part it holds.
func decoded(m *Message) ([]byte, error) {
	ce := strings.Join(m.Header.Values("Content-Encoding"), ",")
	if ce == "" {
		return m.Body, nil
	}
	res, err := decode.Decode(ce, m.Body, 0, m.Partial)
	if err != nil || res.Cut {
		return nil, fmt.Errorf("replay: body: %v", err)
	}
	return res.Bytes, nil
}

// parseJSON decodes one JSON value, keeping numbers as written so that
// integers beyond 2^53 compare exactly.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("replay: data after the JSON value")
	}
	return v, nil
}

// sameNumber reports whether two JSON numbers are equal: integers exactly,
// whatever their size; others, or an integer and another, as float64
// values, so that 1, 1.0 and 1e0 are the same.
func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	if isInteger(a) && isInteger(b) {
		// JSON spells an integer one way (no leading zeros, no plus
		// sign), but for zero's sign.
		return strings.TrimPrefix(string(a), "-") == "0" && strings.TrimPrefix(string(b), "-") == "0"
	}
	x, errx := a.Float64()
	y, erry := b.Float64()
	return errx == nil && erry == nil && x == y
}

func isInteger(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// kind classifies the bodies by the one media-type table: "json",
// "text" or "binary". The recorded type wins; the new one counts when
// there is none.
func kind(rec, got http.Header, a []byte) string {
	ct := rec.Get("Content-Type")
	if ct == "" {
		ct = got.Get("Content-Type")
	}
	switch {
	case media.IsJSON(ct, a):
		return "json"
	case media.IsText(ct, a):
		return "text"
	}
	return "binary"
}

// json compares two decoded JSON values at path at.
func (c *comparer) json(at Path, a, b any) {
	if c.full() || c.rules.ignoresPath(at) {
		return
	}
	if s, ok := a.(string); ok && c.redacted && s == "[REDACTED]" {
		return
	}
	switch a := a.(type) {
	case map[string]any:
		if b, ok := b.(map[string]any); ok {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range a {
					yield(k)
				}
				for k := range b {
					if _, dup := a[k]; !dup {
						yield(k)
					}
				}
			})
			for _, k := range keys {
				va, inA := a[k]
				vb, inB := b[k]
				p := at.child(step{key: k, index: -1})
				switch {
				case inA && inB:
					c.json(p, va, vb)
				case !c.rules.ignoresPath(p):
					c.add(Diff{Where: p.String(), Path: p, Recorded: jsonText(va, inA), Got: jsonText(vb, inB)})
				}
			}
			return
		}
	case []any:
		if b, ok := b.([]any); ok {
			for i := range max(len(a), len(b)) {
				p := at.child(step{index: i})
				switch {
				case i < len(a) && i < len(b):
					c.json(p, a[i], b[i])
				case !c.rules.ignoresPath(p):
					c.add(Diff{Where: p.String(), Path: p, Recorded: jsonText(at1(a, i)), Got: jsonText(at1(b, i))})
				}
			}
			return
		}
	case json.Number:
		if b, ok := b.(json.Number); ok && sameNumber(a, b) {
			return
		}
	default:
		if a == b { // string, bool or nil
			return
		}
	}
	c.add(Diff{Where: at.String(), Path: at, Recorded: jsonText(a, true), Got: jsonText(b, true)})
}

func at1(s []any, i int) (any, bool) {
	if i < len(s) {
		return s[i], true
	}
	return nil, false
}

func jsonText(v any, ok bool) string {
	if !ok {
		return ""
	}
	b, _ := json.Marshal(v)
	return short(string(b))
}

func digest(b []byte) string {
	return fmt.Sprintf("%d bytes, sha256 %x", len(b), sha256.Sum256(b))
}

// short keeps the first 120 bytes of s, at a rune boundary.
func short(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
