package mock

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
)

// Config configures a [Handler]. The zero value matches by method, path
// and query, and answers at once.
type Config struct {
	// MatchBody requires the request body to match the recorded one.
	MatchBody bool

	// IgnoreParams names query parameters left out of matching (a cache
	// buster, a timestamp). Nil means all are compared.
	IgnoreParams []string

	// Timing replays streamed responses with their recorded chunk timing.
	Timing bool

	// MaxBody bounds the request body read for MatchBody; 0 means 32 MiB.
	// A longer body matches nothing.
	MaxBody int64

	// OnMiss, if not nil, is called for each request that matched
	// nothing, with the closest recorded exchange (nil if there is
	// none). It may be called from many goroutines at once.
	OnMiss func(r *http.Request, closest *bodytap.Exchange)
}

// A Handler answers requests from recorded exchanges. It is safe for
// concurrent use.
type Handler struct {
	cfg    Config
	xs     []*bodytap.Exchange // by Start
	byKey  map[string][]*bodytap.Exchange
	ignore map[string]bool

	mu    sync.Mutex
	count map[string]int // answers given per request (and body)
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler answering from xs, which it keeps and does not
// modify. The exchanges are used in the order they were recorded.
func New(cfg Config, xs []*bodytap.Exchange) *Handler {
	h := &Handler{
		cfg:    cfg,
		xs:     slices.Clone(xs),
		byKey:  map[string][]*bodytap.Exchange{},
		ignore: map[string]bool{},
		count:  map[string]int{},
	}
	if h.cfg.MaxBody <= 0 {
		h.cfg.MaxBody = 32 << 20
	}
	for _, p := range cfg.IgnoreParams {
		h.ignore[p] = true
	}
	slices.SortStableFunc(h.xs, func(a, b *bodytap.Exchange) int { return a.Start.Compare(b.Start) })
	for _, x := range h.xs {
		if x.Request.URL == nil {
			continue
		}
		k := h.key(x.Request.Method, x.Request.URL)
		h.byKey[k] = append(h.byKey[k], x)
	}
	return h
}

// key is what a request is matched by, the body aside.
func (h *Handler) key(method string, u *url.URL) string {
	var params []string
	for kv := range strings.SplitSeq(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = unescape(k), unescape(v)
		if !h.ignore[k] {
			params = append(params, k+"\x00"+v)
		}
	}
	slices.Sort(params)
	path := u.Path
	if path == "" {
		path = "/"
	}
	return method + " " + path + "?" + strings.Join(params, "\x01")
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := h.key(r.Method, r.URL)
	cands := h.byKey[k]
	if h.cfg.MatchBody && len(cands) > 0 {
		body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
		if err != nil {
			http.Error(w, "bodytap mock: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		cands = slices.DeleteFunc(slices.Clone(cands), func(x *bodytap.Exchange) bool { return !bodyMatches(&x.Request.Body, body) })
		sum := sha256.Sum256(body)
		k += "\x02" + string(sum[:])
	}
	if len(cands) == 0 {
		h.miss(w, r)
		return
	}
	h.mu.Lock()
	n := h.count[k]
	h.count[k]++
	h.mu.Unlock()
	h.answer(w, r, cands[min(n, len(cands)-1)])
}

// bodyMatches reports whether body is the recorded request body b.
func bodyMatches(b *bodytap.Body, body []byte) bool {
	switch {
	case b.Withheld || b.Decoded != "":
		return false
	case b.Truncated:
		return int64(len(body)) == b.Size && bytes.HasPrefix(body, b.Bytes)
	}
	return bytes.Equal(body, b.Bytes)
}

// miss answers a request that matched nothing.
func (h *Handler) miss(w http.ResponseWriter, r *http.Request) {
	c := h.Closest(r.Method, r.URL.Path)
	if h.cfg.OnMiss != nil {
		h.cfg.OnMiss(r, c)
	}
	msg := fmt.Sprintf("bodytap mock: no recorded exchange matches %s %s", r.Method, r.URL.RequestURI())
	if h.cfg.MatchBody {
		msg += " with this body"
	}
	if c != nil {
		msg += fmt.Sprintf("\nclosest recorded request: %s %s (%s)", c.Request.Method, c.Request.URL.RequestURI(), c.ID)
	} else {
		msg += "\nnothing was recorded"
	}
	plain(w, http.StatusNotFound, msg)
}

// Closest returns the recorded exchange whose request is closest to
// method and path: the same method if any was recorded, then the most
// leading path segments in common, then the nearest number of segments,
// then the earliest. It returns nil when nothing was recorded.
func (h *Handler) Closest(method, path string) *bodytap.Exchange {
	segs := segments(path)
	var best *bodytap.Exchange
	var bestScore [3]int
	for _, x := range h.xs {
		if x.Request.URL == nil {
			continue
		}
		xs := segments(x.Request.URL.Path)
		common := 0
		for common < min(len(segs), len(xs)) && segs[common] == xs[common] {
			common++
		}
		same := 0
		if x.Request.Method == method {
			same = 1
		}
		score := [3]int{same, common, -abs(len(xs) - len(segs))}
		if best == nil || slices.Compare(score[:], bestScore[:]) > 0 {
			best, bestScore = x, score
		}
	}
	return best
}

func segments(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

func abs(n int) int { return max(n, -n) }

// hopHeaders are not served again (RFC 9110, section 7.6.1), with
// Content-Length, which net/http computes for the body served.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
}

// answer serves the recorded response of x.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, x *bodytap.Exchange) {
	rs := &x.Response
	body := rs.Body.Bytes
	if why := unservable(rs); why != "" && redirect(rs) {
		body = nil // what the client follows is Location; browsers keep no redirect body
	} else if why != "" {
		plain(w, http.StatusBadGateway, fmt.Sprintf("bodytap mock: the recorded response to %s %s (%s) %s: not served rather than served wrong",
			x.Request.Method, x.Request.URL.RequestURI(), x.ID, why))
		return
	}
	start := time.Now()
	hd := w.Header()
	for k, vs := range rs.Header {
		hd[k] = slices.Clone(vs)
	}
	for _, k := range hopHeaders {
		if k == "Content-Length" && r.Method == http.MethodHead {
			continue // no body to compute it from
		}
		hd.Del(k)
	}
	if rs.Body.Decoded != "" {
		hd.Del("Content-Encoding")
	}
	timed := h.cfg.Timing && len(rs.Chunks) > 0 && rs.Body.Decoded == ""
	if timed && !wait(r, start, x.TimeToHeaders) {
		return
	}
	for k := range rs.Trailer {
		hd.Add("Trailer", k)
	}
	w.WriteHeader(rs.Status)
	if timed {
		rc := http.NewResponseController(w)
		rc.Flush()
		sent := int64(0)
		for _, c := range rs.Chunks {
			end := min(c.Offset, int64(len(body)))
			if end <= sent {
				continue
			}
			if !wait(r, start, c.At) {
				return
			}
			if _, err := w.Write(body[sent:end]); err != nil {
				return
			}
			rc.Flush()
			sent = end
		}
		if sent < int64(len(body)) && !wait(r, start, x.Duration) {
			return
		}
		body = body[sent:]
	}
	w.Write(body)
	for k, vs := range rs.Trailer {
		hd[k] = slices.Clone(vs)
	}
}

// unservable says why rs cannot be served as recorded, or "" if it can.
func unservable(rs *bodytap.Response) string {
	b := &rs.Body
	switch {
	case rs.Status == 0:
		return "has no status: the handler never answered"
	case b.Withheld:
		return "had its body withheld at capture"
	case b.Truncated:
		return fmt.Sprintf("had its body truncated at capture (%d of %d bytes kept)", len(b.Bytes), b.Size)
	case !b.EOF:
		return "did not complete: its body is only partly known"
	}
	return ""
}

// redirect reports whether rs sends the client elsewhere: a 3xx status
// other than 304 Not Modified, with a Location.
func redirect(rs *bodytap.Response) bool {
	return rs.Status >= 300 && rs.Status < 400 && rs.Status != http.StatusNotModified && rs.Header.Get("Location") != ""
}

// wait waits until d after start, and reports false if the client went
// away first.
func wait(r *http.Request, start time.Time, d time.Duration) bool {
	t := time.NewTimer(time.Until(start.Add(d)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
