package difftest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

// ScriptHeader carries the id under which a Server finds the handler of a
// request. It passes through a proxy like any header.
const ScriptHeader = "X-Diff-Script"

// A Server is a real server that plays scripts: each request names, in
// ScriptHeader, the handler registered for it.
type Server struct {
	Srv      *httptest.Server
	H2       bool     // HTTP/2 over TLS, else HTTP/1.1
	handlers sync.Map // id → http.Handler
	ids      atomic.Uint64
}

// NewServer starts a Server over HTTP/1.1 or, with h2, over HTTP/2 with
// TLS. It is closed when the test ends.
func NewServer(tb testing.TB, h2 bool) *Server {
	tb.Helper()
	d := &Server{H2: h2}
	d.Srv = testutil.StartServer(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := d.handlers.Load(r.Header.Get(ScriptHeader))
		if !ok {
			http.Error(w, "no such script", http.StatusInternalServerError)
			return
		}
		h.(http.Handler).ServeHTTP(w, r)
	}), h2)
	return d
}

// Register makes h the handler of the requests that carry the returned id
// in ScriptHeader, until unregister is called.
func (d *Server) Register(h http.Handler) (id string, unregister func()) {
	id = strconv.FormatUint(d.ids.Add(1), 10)
	d.handlers.Store(id, h)
	return id, func() { d.handlers.Delete(id) }
}

// Client returns the client for one run and a function that releases it.
// Over HTTP/1.1 every run gets a fresh connection: on a reused one the
// Transport would retry a request whose handler aborted, and run the
// handler twice. Neither asks for compression.
func (d *Server) Client() (*http.Client, func()) {
	if d.H2 {
		return d.Srv.Client(), func() {}
	}
	tr := &http.Transport{ForceAttemptHTTP2: false, DisableCompression: true, ExpectContinueTimeout: 500 * time.Millisecond}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// Info is a 1xx response as the client saw it.
type Info struct {
	Code   int
	Header http.Header
}

// Result is what the client saw of one response, and what the script's
// handler saw (Obs, set by Server.Run).
type Result struct {
	Err     error // from Do or from reading the body
	Status  int
	Header  http.Header
	Close   bool // resp.Close: a "Connection: close" the client took out of Header
	CLen    int64
	TE      []string
	Body    []byte
	Trailer http.Header // as the client has it: declared but unsent trailers have no values
	Infos   []Info
	Obs     *Obs
}

// Do sends req with client and reads the whole response, the 1xx
// responses before it included. Its context should have a deadline.
func Do(tb testing.TB, client *http.Client, req *http.Request) *Result {
	tb.Helper()
	res := &Result{}
	var mu sync.Mutex
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			res.Infos = append(res.Infos, Info{code, http.Header(h).Clone()})
			mu.Unlock()
			return nil
		},
	}))
	resp, err := client.Do(req)
	if err == nil {
		res.Status = resp.StatusCode
		res.Header = resp.Header.Clone()
		res.Close = resp.Close
		res.CLen = resp.ContentLength
		res.TE = resp.TransferEncoding
		res.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		res.Trailer = resp.Trailer.Clone()
	}
	res.Err = err
	mu.Lock()
	defer mu.Unlock()
	return res
}

// A Run says how Server.Run plays a script. Its zero value plays it bare,
// straight to the server.
type Run struct {
	Wrap   func(http.Handler) http.Handler // wraps the script's handler; nil: none
	Client *http.Client                    // nil: one from Server.Client
	URL    string                          // where the request goes; "": the server itself
	// Wait, if not nil, runs once the client has read the response and the
	// handler has returned, before the connection is let go (which would
	// cancel the request's context).
	Wait func()
}

// Run plays s on d as run says, and returns what the client and the
// handler saw.
func (d *Server) Run(tb testing.TB, s *Script, run Run) *Result {
	tb.Helper()
	o := newObs()
	h := s.Handler(o)
	if run.Wrap != nil {
		h = run.Wrap(h)
	}
	id, unregister := d.Register(h)
	defer unregister()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var body io.Reader
	if s.Body != nil {
		body = bytes.NewReader(s.Body)
		if s.Chunked {
			body = OnlyReader{body}
		}
	}
	base := cmp.Or(run.URL, d.Srv.URL)
	req, err := http.NewRequestWithContext(ctx, s.Method, base+"/script?seed="+strconv.FormatUint(s.Seed, 10), body)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Chunked {
		req.ContentLength = -1
	}
	req.Header.Set(ScriptHeader, id)
	if s.Expect {
		req.Header.Set("Expect", "100-continue")
	}
	client := run.Client
	if client == nil {
		var release func()
		client, release = d.Client()
		defer release()
	}
	res := Do(tb, client, req)
	res.Obs = o
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		tb.Fatal("handler did not return within 10s")
	}
	if run.Wait != nil {
		run.Wait()
	}
	return res
}

// FmtHeader formats h with sorted keys, one per line, for comparisons.
func FmtHeader(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(&b, "%s: %q\n", k, h[k])
	}
	return b.String()
}

// FmtInfos formats 1xx responses for comparisons.
func FmtInfos(infos []Info) string {
	var b strings.Builder
	for _, in := range infos {
		fmt.Fprintf(&b, "%d\n%s", in.Code, FmtHeader(in.Header))
	}
	return b.String()
}

// WireTrailers is the trailers that reached the client: a trailer declared
// but never sent shows in resp.Trailer as a key without values.
func WireTrailers(h http.Header) http.Header {
	t := http.Header{}
	for k, vv := range h {
		if len(vv) > 0 {
			t[k] = vv
		}
	}
	return t
}

// Excerpt returns a printable excerpt of a body for failure messages.
func Excerpt(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes, crc %08x)", b[:64], len(b), crc32.ChecksumIEEE(b))
	}
	return fmt.Sprintf("%q", b)
}

// RerunPattern returns the -run pattern that selects the test named name
// and no other.
func RerunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
