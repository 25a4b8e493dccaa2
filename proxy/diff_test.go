package proxy

// Differential test: random upstream handler scripts, each played twice,
// once straight from the client and once through the proxy; the client
// must see the same thing both times, the upstream's handler must see the
// same request, and the proxy's record must tell what the client saw.
//
// The generator is a compact cousin of the core's (../diff_test.go): the
// core's scripts test a middleware inside the handler, with aborts,
// sendfile paths and reads racing the response, which a proxy turns into
// different, and correct, behaviour (an abort before the headers is a
// 502 here). These scripts keep to what an upstream does: headers, 1xx,
// request body reads, a status, writes and flushes, trailers.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

var (
	diffSeed = flag.Uint64("diff.seed", 1, "first seed of the scripts TestDifferential plays")
	diffN    = flag.Int("diff.n", 0, "scripts per protocol in TestDifferential (0: the default for the mode)")
)

// scriptHeader names the script a request plays; it passes through the
// proxy like any header.
const scriptHeader = "X-Diff-Script"

type opKind uint8

const (
	opSet            opKind = iota // Header().Set(name, value)
	opAdd                          // Header().Add(name, value)
	opSuppress                     // Header()[name] = nil: the server adds no Date or Content-Type
	opDeclareTrailer               // Header().Add("Trailer", name)
	opSetTrailer                   // Header().Set(name, value) once the body is written
	opPrefixTrailer                // Header().Set(http.TrailerPrefix+name, value)
	opInfo                         // WriteHeader(1xx)
	opRead                         // read n bytes of the request body (at most)
	opReadAll                      // read the request body to its end
	opStatus                       // WriteHeader(code)
	opWrite                        // Write n bytes
	opFlush                        // Flush
	opContentLength                // Header().Set("Content-Length", n)
)

type op struct {
	kind        opKind
	name, value string
	code, n     int
	seed        uint64
}

func (o op) String() string {
	switch o.kind {
	case opSet:
		return fmt.Sprintf("Set %s: %q", o.name, o.value)
	case opAdd:
		return fmt.Sprintf("Add %s: %q", o.name, o.value)
	case opSuppress:
		return "Suppress " + o.name
	case opDeclareTrailer:
		return "DeclareTrailer " + o.name
	case opSetTrailer:
		return fmt.Sprintf("SetTrailer %s: %q", o.name, o.value)
	case opPrefixTrailer:
		return fmt.Sprintf("PrefixTrailer %s: %q", o.name, o.value)
	case opInfo, opStatus:
		return fmt.Sprintf("WriteHeader %d", o.code)
	case opRead:
		return fmt.Sprintf("Read %d", o.n)
	case opReadAll:
		return "ReadAll"
	case opWrite:
		return fmt.Sprintf("Write %d (seed %d)", o.n, o.seed)
	case opFlush:
		return "Flush"
	case opContentLength:
		return fmt.Sprintf("ContentLength %d", o.n)
	}
	return "?"
}

// A script is an upstream handler's behaviour and the request that drives
// it.
type script struct {
	seed    uint64
	method  string
	body    []byte
	chunked bool // send the body without a Content-Length
	ops     []op
}

func (s *script) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s, %d-byte body (chunked %t)\n", s.seed, s.method, len(s.body), s.chunked)
	for i, o := range s.ops {
		fmt.Fprintf(&b, "%3d  %v\n", i, o)
	}
	return b.String()
}

var (
	diffHeaderNames  = []string{"X-Alpha", "X-Multi", "Cache-Control", "Content-Type", "Set-Cookie", "Vary", "ETag", "x-lower"}
	diffHeaderValues = []string{"", "a", "no-store", "text/plain; charset=utf-8", "application/json", "id=1; Path=/", "Accept-Encoding", "x  y"}
	diffTrailerNames = []string{"X-Trailer-A", "X-Trailer-B", "Grpc-Status"}
	diffInfoCodes    = []int{103, 103, 103, 102, 100, 199}
	diffFinalCodes   = []int{200, 200, 201, 204, 206, 304, 404, 500, 503}
	diffLinks        = []string{"</a.css>; rel=preload; as=style", "</b.js>; rel=preload; as=script"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func token(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, 1+r.IntN(12))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// size picks a body size: mostly small, some on net/http's buffer edges,
// some large.
func size(r *rand.Rand, big int) int {
	switch p := r.IntN(100); {
	case p < 8:
		return 0
	case p < 15:
		return pick(r, []int{511, 512, 513, 2047, 2048, 2049, 4096, 32 << 10, 64<<10 - 1, 64 << 10, 64<<10 + 1})
	case p < 50:
		return r.IntN(100)
	case p < 80:
		return r.IntN(8 << 10)
	case p < 95:
		return r.IntN(100 << 10)
	}
	return big/2 + r.IntN(big/2)
}

// genScript writes a random script. Reads of the request body come before
// the response starts: later ones race with the response in net/http
// itself, proxy or not.
func genScript(r *rand.Rand, seed uint64, big int) *script {
	s := &script{seed: seed}
	switch p := r.IntN(100); {
	case p < 20:
		s.method = "GET"
	case p < 30:
		s.method = "HEAD"
	case p < 85:
		s.method = "POST"
	default:
		s.method = "PUT"
	}
	if s.method == "POST" || s.method == "PUT" {
		s.body = pattern(size(r, big), byte(r.Uint32()))
		s.chunked = r.IntN(10) < 3
	}
	var ops []op
	add := func(o op) { ops = append(ops, o) }
	header := func() op {
		o := op{kind: opSet, name: pick(r, diffHeaderNames), value: pick(r, diffHeaderValues)}
		if r.IntN(2) == 0 {
			o.value = token(r)
		}
		if r.IntN(3) == 0 {
			o.kind = opAdd
		}
		return o
	}
	for range r.IntN(4) {
		add(header())
	}
	if r.IntN(5) == 0 {
		add(op{kind: opSuppress, name: pick(r, []string{"Date", "Content-Type"})})
	}
	var declared []string
	if r.IntN(4) == 0 {
		for _, name := range diffTrailerNames[:1+r.IntN(len(diffTrailerNames))] {
			declared = append(declared, name)
			add(op{kind: opDeclareTrailer, name: name})
		}
	}
	for range []int{0, 0, 0, 1, 1, 2}[r.IntN(6)] {
		if r.IntN(3) > 0 {
			add(op{kind: opAdd, name: "Link", value: pick(r, diffLinks)})
		}
		add(op{kind: opInfo, code: pick(r, diffInfoCodes)})
	}
	if s.body != nil {
		for range r.IntN(3) {
			if r.IntN(2) == 0 {
				add(op{kind: opReadAll})
			} else {
				add(op{kind: opRead, n: r.IntN(len(s.body) + 2)})
			}
		}
	}
	if r.IntN(10) < 6 {
		add(op{kind: opStatus, code: pick(r, diffFinalCodes)})
	}
	for range r.IntN(6) {
		add(op{kind: opWrite, n: size(r, big), seed: r.Uint64()})
		switch p := r.IntN(10); {
		case p < 3:
			add(op{kind: opFlush})
		case p < 4:
			add(header()) // too late: never sent
		}
	}
	for _, name := range declared {
		if r.IntN(5) > 0 {
			add(op{kind: opSetTrailer, name: name, value: token(r)})
		}
	}
	if r.IntN(6) == 0 {
		add(op{kind: opPrefixTrailer, name: "X-Late", value: token(r)})
	}
	if r.IntN(5) == 0 {
		// A Content-Length that matches the body, set before it starts.
		total, first := 0, len(ops)
		for i, o := range ops {
			if o.kind == opWrite {
				total += o.n
				first = min(first, i)
			}
		}
		ops = slices.Insert(ops, r.IntN(first+1), op{kind: opContentLength, n: total})
	}
	s.ops = ops
	return s
}

// obs is what the upstream's handler saw in one run.
type obs struct {
	header http.Header
	read   []byte
	eof    bool
	done   chan struct{}
}

func (s *script) handler(o *obs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(o.done)
		o.header = r.Header.Clone()
		h := w.Header()
		for _, op := range s.ops {
			switch op.kind {
			case opSet, opSetTrailer:
				h.Set(op.name, op.value)
			case opAdd:
				h.Add(op.name, op.value)
			case opSuppress:
				h[op.name] = nil
			case opDeclareTrailer:
				h.Add("Trailer", op.name)
			case opPrefixTrailer:
				h.Set(http.TrailerPrefix+op.name, op.value)
			case opInfo, opStatus:
				w.WriteHeader(op.code)
			case opRead, opReadAll:
				n := int64(op.n)
				if op.kind == opReadAll {
					n = 1 << 40
				}
				b, err := io.ReadAll(io.LimitReader(r.Body, n))
				o.read = append(o.read, b...)
				if err == nil && int64(len(b)) < n {
					o.eof = true
				}
			case opWrite:
				w.Write(pattern(op.n, byte(op.seed)))
			case opFlush:
				w.(http.Flusher).Flush()
			case opContentLength:
				h.Set("Content-Length", strconv.Itoa(op.n))
			}
		}
	})
}

// diffServer is an upstream that plays the script a request names.
type diffServer struct {
	srv      *httptest.Server
	handlers sync.Map // id → http.Handler
	ids      atomic.Uint64
}

func newDiffServer(tb testing.TB, tlsH2 bool) *diffServer {
	d := &diffServer{}
	d.srv = newUpstream(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := d.handlers.Load(r.Header.Get(scriptHeader))
		if !ok {
			http.Error(w, "no such script", http.StatusInternalServerError)
			return
		}
		h.(http.Handler).ServeHTTP(w, r)
	}), tlsH2)
	return d
}

// result is what the client saw of one run, and what the handler saw.
type result struct {
	method  string
	err     error
	status  int
	header  http.Header
	clen    int64
	body    []byte
	trailer http.Header
	infos   []string
	obs     *obs
}

// run plays s on d, sending the request to base (the upstream or the
// proxy) with client.
func (d *diffServer) run(tb testing.TB, s *script, client *http.Client, base string) *result {
	tb.Helper()
	o := &obs{done: make(chan struct{})}
	id := strconv.FormatUint(d.ids.Add(1), 10)
	d.handlers.Store(id, s.handler(o))
	defer d.handlers.Delete(id)

	res := &result{obs: o, method: s.method}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			res.infos = append(res.infos, fmt.Sprintf("%d %s", code, fmtHeader(withoutHop(http.Header(h)))))
			return nil
		},
	})
	var body io.Reader
	if s.body != nil {
		body = bytes.NewReader(s.body)
		if s.chunked {
			body = io.MultiReader(body) // hides the length
		}
	}
	req, err := http.NewRequestWithContext(ctx, s.method, base+"/script?seed="+strconv.FormatUint(s.seed, 10), body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set(scriptHeader, id)
	resp, err := client.Do(req)
	if err == nil {
		res.status = resp.StatusCode
		res.header = resp.Header
		res.clen = resp.ContentLength
		res.body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		res.trailer = http.Header{}
		for k, v := range resp.Trailer {
			if len(v) > 0 {
				res.trailer[k] = v
			}
		}
	}
	res.err = err
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		tb.Fatal("handler did not return within 10s")
	}
	mu.Lock()
	defer mu.Unlock()
	return res
}

// withoutHop returns h without the headers that belong to one connection
// or one moment: hop-by-hop headers, and Date's value (its presence is
// kept).
func withoutHop(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		case "Date":
			out[k] = []string{"(a date)"}
		default:
			out[k] = v
		}
	}
	return out
}

// bodyAllowed reports whether a response to method with status can have a
// body.
func bodyAllowed(status int, method string) bool {
	return method != "HEAD" && status != http.StatusNoContent && status != http.StatusNotModified
}

func fmtHeader(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(&b, "%s: %q; ", k, h[k])
	}
	return b.String()
}

func excerpt(b []byte) string {
	if len(b) > 48 {
		return fmt.Sprintf("%q... (%d bytes)", b[:48], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// compare reports every difference between the run through the proxy (got)
// and the direct one (want).
func compare(tb testing.TB, got, want *result) {
	tb.Helper()
	if !bytes.Equal(got.obs.read, want.obs.read) || got.obs.eof != want.obs.eof {
		tb.Errorf("request body the upstream read: got %s (EOF %t), want %s (EOF %t)", excerpt(got.obs.read), got.obs.eof, excerpt(want.obs.read), want.obs.eof)
	}
	gh, wh := withoutHop(got.obs.header), withoutHop(want.obs.header)
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if len(gh[k]) != 1 {
			tb.Errorf("upstream request header %s: got %q, want one value", k, gh[k])
		}
		delete(gh, k)
	}
	delete(gh, scriptHeader)
	delete(wh, scriptHeader)
	if a, b := fmtHeader(gh), fmtHeader(wh); a != b {
		tb.Errorf("upstream request header:\ngot  %s\nwant %s", a, b)
	}
	if (got.err == nil) != (want.err == nil) {
		tb.Errorf("client error: got %v, want %v", got.err, want.err)
		return
	}
	if got.err != nil {
		// The response broke both times (the upstream's response was
		// invalid); how much of it each client saw first is timing.
		return
	}
	if got.status != want.status {
		tb.Errorf("status: got %d, want %d", got.status, want.status)
	}
	if a, b := fmtHeader(withoutHop(got.header)), fmtHeader(withoutHop(want.header)); a != b {
		tb.Errorf("header:\ngot  %s\nwant %s", a, b)
	}
	// Without a body, over HTTP/2, ContentLength is 0 or -1 depending on
	// whether the headers ended the stream: framing, not content.
	if bodyAllowed(want.status, want.method) && got.clen != want.clen {
		tb.Errorf("ContentLength: got %d, want %d", got.clen, want.clen)
	}
	if !bytes.Equal(got.body, want.body) {
		tb.Errorf("body: got %s, want %s", excerpt(got.body), excerpt(want.body))
	}
	if a, b := fmtHeader(got.trailer), fmtHeader(want.trailer); a != b {
		tb.Errorf("trailer: got %s, want %s", a, b)
	}
	if !slices.Equal(got.infos, want.infos) {
		tb.Errorf("1xx responses:\ngot  %q\nwant %q", got.infos, want.infos)
	}
}

// checkRecord checks that the proxy's record tells what the client saw.
func checkRecord(tb testing.TB, s *script, x *bodytap.Exchange, res *result) {
	tb.Helper()
	if x.Err != nil {
		tb.Errorf("Err: %v", x.Err)
	}
	if x.Response.Status != res.status {
		tb.Errorf("Response.Status: got %d, want %d", x.Response.Status, res.status)
	}
	if s.method != "HEAD" && x.Response.Body.Size != int64(len(res.body)) {
		tb.Errorf("Response.Body.Size: got %d, want %d", x.Response.Body.Size, len(res.body))
	}
	if n := len(x.Response.Body.Bytes); n > len(res.body) || !bytes.Equal(x.Response.Body.Bytes, res.body[:n]) {
		tb.Errorf("Response.Body.Bytes is not a prefix of the body the client got")
	}
	var infos []string
	for _, in := range x.Response.Informational {
		infos = append(infos, fmt.Sprintf("%d %s", in.Status, fmtHeader(withoutHop(in.Header))))
	}
	if !slices.Equal(infos, res.infos) {
		tb.Errorf("Response.Informational:\ngot  %q\nwant %q", infos, res.infos)
	}
	tr := http.Header{}
	for k, v := range x.Response.Trailer {
		if len(v) > 0 {
			tr[k] = v
		}
	}
	if a, b := fmtHeader(tr), fmtHeader(res.trailer); a != b {
		tb.Errorf("Response.Trailer: got %s, want %s", a, b)
	}
	if n := len(x.Request.Body.Bytes); n > len(s.body) || !bytes.Equal(x.Request.Body.Bytes, s.body[:n]) {
		tb.Errorf("Request.Body.Bytes is not a prefix of the body sent")
	}
}

func scriptsPerProtocol() int {
	switch {
	case *diffN > 0:
		return *diffN
	case testing.Short(), testutil.RaceEnabled:
		return 25
	}
	return 80
}

// TestDifferential plays random upstream scripts straight and through the
// proxy, over HTTP/1.1 (client, proxy and upstream) and HTTP/2 over TLS
// (client to proxy, proxy to upstream). A failure prints the script and
// its seed; -diff.seed and -diff.n play another range.
func TestDifferential(t *testing.T) {
	n := scriptsPerProtocol()
	big := 1 << 20
	if testutil.RaceEnabled {
		big = 256 << 10
	}
	for _, proto := range []struct {
		m     mode
		tlsH2 bool
	}{{h1, false}, {h2, true}} {
		t.Run(string(proto.m), func(t *testing.T) {
			d := newDiffServer(t, proto.tlsH2)
			e := newEnv(t, d.srv.URL, proto.m, func(c *Config) {
				c.InsecureSkipVerify = proto.tlsH2
				// The record is compared with the wire: keep it as is.
				c.Tap.Redact.Disabled = true
			})
			direct := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			if proto.tlsH2 {
				pool := x509.NewCertPool()
				pool.AddCert(d.srv.Certificate())
				direct.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableCompression: true}
			}
			t.Cleanup(direct.CloseIdleConnections)
			for seed := *diffSeed; seed < *diffSeed+uint64(n); seed++ {
				s := genScript(rand.New(rand.NewPCG(seed, 0x70726f7879)), seed, big)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("script:\n%s", s)
						}
					}()
					want := d.run(t, s, direct, d.srv.URL)
					got := d.run(t, s, e.client, e.srv.URL)
					compare(t, got, want)
					x := e.col.next(t)
					if got.err == nil {
						checkRecord(t, s, x, got)
					}
				})
			}
		})
	}
}
