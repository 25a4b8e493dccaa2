package bodytap

// Differential transparency tests. A generator writes random handler
// scripts; each script runs on a real server twice, once bare and once
// behind a Tap, and the two responses the client sees must be identical.
// The Exchange the Tap delivers must then describe what really passed.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/difftest"
)

// keep is how many bytes of a body the Tap keeps under the script's cap.
func keep(s *difftest.Script, size int) int {
	switch {
	case s.Max == 0:
		return min(size, DefaultMaxBodyBytes)
	case s.Max < 0:
		return 0
	}
	return int(min(int64(size), s.Max))
}

// handlerHeader returns h without the headers that net/http computes, moves
// or removes on its own (Date, Content-Length, a sniffed Content-Type,
// framing and trailer announcements), so that what the handler set can be
// compared with what the client received.
func handlerHeader(h http.Header) http.Header {
	t := http.Header{}
	for k, vv := range h {
		switch {
		case k == "Date", k == "Content-Length", k == "Content-Type", k == "Transfer-Encoding",
			k == "Connection", k == "Trailer", strings.HasPrefix(k, http.TrailerPrefix):
		default:
			t[k] = vv
		}
	}
	return t
}

// withoutDate returns h without Date, whose value depends on the second.
func withoutDate(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Date")
	return h
}

func errWord(err error) string {
	if err == nil {
		return "no error"
	}
	return "an error"
}

// compareScriptRuns reports every difference between what the client (and the
// handler) saw behind the Tap (got) and without it (want).
func compareScriptRuns(tb testing.TB, s *difftest.Script, got, want *difftest.Result) {
	tb.Helper()
	g, w := got.Obs, want.Obs
	if g.Aborted != w.Aborted {
		tb.Errorf("handler aborted: got %t, want %t", g.Aborted, w.Aborted)
	}
	if !bytes.Equal(g.Read, w.Read) {
		tb.Errorf("request body the handler read: got %s, want %s", difftest.Excerpt(g.Read), difftest.Excerpt(w.Read))
	}
	// A read that stops right at the end of a chunked body sees EOF with
	// its last bytes only if the last chunk had already arrived.
	eofRace := s.Chunked && len(g.Read) == len(s.Body) && len(w.Read) == len(s.Body)
	if g.ReadEOF != w.ReadEOF && !eofRace || g.ReadErr != w.ReadErr {
		tb.Errorf("request body end: got EOF %t err %q, want EOF %t err %q", g.ReadEOF, g.ReadErr, w.ReadEOF, w.ReadErr)
	}
	if a, b := strings.Join(g.Results, "\n"), strings.Join(w.Results, "\n"); a != b {
		tb.Errorf("results of the handler's writes:\ngot  %q\nwant %q\n(errors: got %q, want %q)", a, b, g.Errs, w.Errs)
	}
	if (got.Err == nil) != (want.Err == nil) {
		tb.Errorf("client: got %s (%v), want %s (%v)", errWord(got.Err), got.Err, errWord(want.Err), want.Err)
		return
	}
	if s.Aborts() {
		return
	}
	if a, b := difftest.FmtInfos(got.Infos), difftest.FmtInfos(want.Infos); a != b {
		tb.Errorf("1xx responses: got %q, want %q", a, b)
	}
	if got.Status != want.Status {
		tb.Errorf("status: got %d, want %d", got.Status, want.Status)
	}
	if a, b := difftest.FmtHeader(withoutDate(got.Header)), difftest.FmtHeader(withoutDate(want.Header)); a != b {
		tb.Errorf("header: got %q, want %q", a, b)
	}
	if got.Close != want.Close {
		tb.Errorf("Connection: close (resp.Close): got %t, want %t", got.Close, want.Close)
	}
	if got.CLen != want.CLen {
		tb.Errorf("ContentLength: got %d, want %d", got.CLen, want.CLen)
	}
	if !slices.Equal(got.TE, want.TE) {
		tb.Errorf("TransferEncoding: got %q, want %q", got.TE, want.TE)
	}
	if got.Err != nil {
		// The client saw the response break; how much of the body it
		// read before is a matter of timing.
		return
	}
	if !bytes.Equal(got.Body, want.Body) {
		tb.Errorf("body: got %s, want %s", difftest.Excerpt(got.Body), difftest.Excerpt(want.Body))
	}
	if a, b := difftest.FmtHeader(got.Trailer), difftest.FmtHeader(want.Trailer); a != b {
		tb.Errorf("trailer: got %q, want %q", a, b)
	}
}

// checkCapturedBody checks a captured body against the bytes that passed.
func checkCapturedBody(tb testing.TB, what string, s *difftest.Script, b Body, passed []byte) {
	tb.Helper()
	if b.Size != int64(len(passed)) {
		tb.Errorf("%s Body.Size: got %d, want %d", what, b.Size, len(passed))
	}
	if want := passed[:keep(s, len(passed))]; !bytes.Equal(b.Bytes, want) {
		tb.Errorf("%s Body.Bytes: got %s, want %s", what, difftest.Excerpt(b.Bytes), difftest.Excerpt(want))
	}
	if want := b.Size > int64(len(b.Bytes)); b.Truncated != want {
		tb.Errorf("%s Body.Truncated: got %t, want %t (Size %d, %d bytes kept)", what, b.Truncated, want, b.Size, len(b.Bytes))
	}
}

// checkScriptExchange checks that x describes what passed in the run res.
// bare is the run without the Tap.
func checkScriptExchange(tb testing.TB, s *difftest.Script, x *Exchange, res, bare *difftest.Result) {
	tb.Helper()
	o := res.Obs
	aborted := s.Aborts()

	if x.Request.Method != s.Method {
		tb.Errorf("Request.Method: got %q, want %q", x.Request.Method, s.Method)
	}
	if x.Request.ContentLength != o.ContentLength {
		tb.Errorf("Request.ContentLength: got %d, want %d", x.Request.ContentLength, o.ContentLength)
	}
	checkCapturedBody(tb, "Request", s, x.Request.Body, o.Read)
	// net/http itself may take bytes from under a handler that reads
	// after the headers went out (it reads up to 256 KiB of a chunked
	// body then): when it did not without the Tap, the copy must be a
	// prefix of what the client sent.
	if n := len(x.Request.Body.Bytes); bytes.HasPrefix(s.Body, bare.Obs.Read) &&
		(n > len(s.Body) || !bytes.Equal(x.Request.Body.Bytes, s.Body[:n])) {
		tb.Errorf("Request.Body.Bytes is not a prefix of the request body: got %s, want a prefix of %s", difftest.Excerpt(x.Request.Body.Bytes), difftest.Excerpt(s.Body))
	}
	if want := o.ReadEOF || o.NoBody || o.ContentLength == 0; x.Request.Body.EOF != want {
		tb.Errorf("Request.Body.EOF: got %t, want %t (handler read %d bytes, saw EOF %t; ContentLength %d)",
			x.Request.Body.EOF, want, len(o.Read), o.ReadEOF, o.ContentLength)
	}

	checkCapturedBody(tb, "Response", s, x.Response.Body, o.Wrote)
	if !aborted && s.Method != "HEAD" && res.Err == nil && x.Response.Body.Size != int64(len(res.Body)) {
		tb.Errorf("Response.Body.Size: got %d, want %d (the body the client received)", x.Response.Body.Size, len(res.Body))
	}
	if want := !aborted && !o.WriteFailed; x.Response.Body.EOF != want {
		tb.Errorf("Response.Body.EOF: got %t, want %t", x.Response.Body.EOF, want)
	}

	var got, want []string
	for _, in := range x.Response.Informational {
		got = append(got, fmt.Sprintf("%d %q", in.Status, in.Header.Values("Link")))
	}
	for _, in := range res.Infos {
		want = append(want, fmt.Sprintf("%d %q", in.Code, in.Header.Values("Link")))
	}
	// A client whose response broke (an abort can reset the connection)
	// may have lost 1xx responses that were sent, never seen extra ones.
	if res.Err == nil && !slices.Equal(got, want) || res.Err != nil && !slices.Equal(got[:min(len(got), len(want))], want) {
		tb.Errorf("Response.Informational: got %q, want %q", got, want)
	}

	if aborted {
		if !errors.Is(x.Err, ErrAborted) {
			tb.Errorf("Err: got %v, want %v", x.Err, ErrAborted)
		}
		return
	}
	if res.Status != 0 && x.Response.Status != res.Status {
		tb.Errorf("Response.Status: got %d, want %d", x.Response.Status, res.Status)
	}
	if res.Status != 0 {
		if a, b := difftest.FmtHeader(handlerHeader(x.Response.Header)), difftest.FmtHeader(handlerHeader(res.Header)); a != b {
			tb.Errorf("Response.Header (without the headers the server computes): got %q, want %q", a, b)
		}
	}
	if res.Err != nil {
		return
	}
	if a, b := difftest.FmtHeader(difftest.WireTrailers(x.Response.Trailer)), difftest.FmtHeader(difftest.WireTrailers(res.Trailer)); a != b {
		tb.Errorf("Response.Trailer: got %q, want %q", a, b)
	}
	if !o.WriteFailed && !s.Early && x.Err != nil {
		tb.Errorf("Err: got %v, want nil", x.Err)
	}
}

// playScript runs s bare and behind a Tap on d, and checks both the
// difference and the Exchange.
func playScript(t *testing.T, d *difftest.Server, s *difftest.Script) {
	defer func() {
		if t.Failed() {
			t.Logf("script (rerun with -run '%s'):\n%s", difftest.RerunPattern(t.Name()), s)
		}
	}()
	s.Prepare(t, t.TempDir())

	want := d.Run(t, s, difftest.Run{})

	c := newCollector()
	// Redaction (on by default) would change the recorded headers and bodies;
	// this test compares the record with the wire, so it keeps everything.
	tap := New(Config{Sink: c, MaxBodyBytes: s.Max, Redact: Redaction{Disabled: true}})
	var x *Exchange
	got := d.Run(t, s, difftest.Run{Wrap: tap.Handler, Wait: func() { x = c.next(t) }})
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.ch); n != 0 {
		t.Errorf("exchanges delivered: got %d, want 1", 1+n)
	}

	compareScriptRuns(t, s, got, want)
	checkScriptExchange(t, s, x, got, want)
}

// TestTransparency plays random handler scripts over HTTP/1.1 and HTTP/2,
// with and without a Tap: the client must see the same thing, and the
// Exchange must tell what passed. A failure prints the script and the -run
// pattern that replays it alone; -diff.seed and -diff.n play another range.
func TestTransparency(t *testing.T) {
	l := difftest.DefaultOptions()
	for _, proto := range []struct {
		name string
		h2   bool
	}{{"HTTP1", false}, {"HTTP2", true}} {
		t.Run(proto.name, func(t *testing.T) {
			d := difftest.NewServer(t, proto.h2)
			for _, seed := range difftest.Seeds(150, 80, 30) {
				s := difftest.Gen(rand.New(rand.NewPCG(seed, 0x6469666674657374)), seed, l)
				s.Settle(proto.h2)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					playScript(t, d, s)
				})
			}
		})
	}
}

// transparencyCases are hand-written scripts for cases that matter and
// that the generator reaches only now and then.
var transparencyCases = []struct {
	name   string
	h1, h2 bool // protocols to play it over
	s      difftest.Script
}{
	{
		name: "EarlyHintsThenStreamedBody", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.AddHeader, Name: "Link", Value: difftest.EarlyHintLinks[0]},
			{Kind: difftest.WriteHeader, Code: 103},
			{Kind: difftest.WriteHeader, Code: 200},
			{Kind: difftest.Write, N: 3000, Seed: 1},
			{Kind: difftest.Flush},
			{Kind: difftest.WriteString, N: 10, Seed: 2, Text: true},
		}},
	},
	{
		name: "ImplicitOKAfter1xx", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Max: 1, Steps: []difftest.Step{
			{Kind: difftest.WriteHeader, Code: 103},
			{Kind: difftest.WriteHeader, Code: 102},
		}},
	},
	{
		name: "SendfileWithContentLength", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Max: 100, Steps: []difftest.Step{
			{Kind: difftest.ContentLength, N: 1 << 20},
			{Kind: difftest.ReadFromFile, N: 1 << 20, Seed: 3},
		}},
	},
	{
		name: "CopyNFileAfterHeaders", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Max: 4096, Steps: []difftest.Step{
			{Kind: difftest.ContentLength, N: 1<<20 + 100},
			{Kind: difftest.Write, N: 100, Seed: 4},
			{Kind: difftest.Flush},
			{Kind: difftest.CopyNFile, N: 1 << 20, Seed: 5},
		}},
	},
	{
		// net/http's ReadFrom sends the headers once it has 512 bytes
		// to sniff; the Tap's first ReadFrom stops at the cap.
		name: "ReadFromJustPastSniffLen", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Max: 100, Steps: []difftest.Step{
			{Kind: difftest.Copy, N: 550, Seed: 16},
		}},
	},
	{
		// A ReadFrom that copies nothing sends no headers: net/http
		// takes the status that comes next.
		name: "EmptyReadFromThenWriteHeader", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Max: -1, Steps: []difftest.Step{
			{Kind: difftest.Copy, N: 0, Seed: 17},
			{Kind: difftest.SetHeader, Name: "X-Alpha", Value: "set after the empty copy"},
			{Kind: difftest.WriteHeader, Code: 202},
			{Kind: difftest.Write, N: 5, Seed: 18},
		}},
	},
	{
		name: "AbortAfterFlush", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.Write, N: 5000, Seed: 6},
			{Kind: difftest.Flush},
			{Kind: difftest.Abort},
		}},
	},
	{
		name: "DeclaredAndPrefixTrailers", h1: true, h2: true,
		s: difftest.Script{Method: "POST", Body: difftest.Pattern(100), Steps: []difftest.Step{
			{Kind: difftest.DeclareTrailer, Name: "Grpc-Status"},
			{Kind: difftest.ReadAll, Buf: 512},
			{Kind: difftest.Write, N: 3000, Seed: 7},
			{Kind: difftest.Flush},
			{Kind: difftest.SetTrailer, Name: "Grpc-Status", Value: "0"},
			{Kind: difftest.PrefixTrailer, Name: "X-Late-A", Value: "late"},
		}},
	},
	{
		// Over HTTP/1.1 net/http sends a TrailerPrefix trailer only when
		// the response is chunked: a small unflushed body gets a
		// Content-Length instead, and the trailer is dropped.
		name: "PrefixTrailerSmallBody", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.Write, N: 5, Seed: 8, Text: true},
			{Kind: difftest.PrefixTrailer, Name: "X-Late-A", Value: "late"},
		}},
	},
	{
		name: "TrailerWithContentLength", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.DeclareTrailer, Name: "X-Trailer-A"},
			{Kind: difftest.ContentLength, N: 3000},
			{Kind: difftest.Write, N: 3000, Seed: 9},
			{Kind: difftest.Flush},
			{Kind: difftest.SetTrailer, Name: "X-Trailer-A", Value: "a"},
		}},
	},
	{
		name: "TrailerOn204", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.DeclareTrailer, Name: "X-Trailer-A"},
			{Kind: difftest.WriteHeader, Code: 204},
			{Kind: difftest.Flush},
			{Kind: difftest.SetTrailer, Name: "X-Trailer-A", Value: "a"},
		}},
	},
	{
		name: "TrailerOnHEAD", h1: true, h2: true,
		s: difftest.Script{Method: "HEAD", Steps: []difftest.Step{
			{Kind: difftest.DeclareTrailer, Name: "X-Trailer-A"},
			{Kind: difftest.Write, N: 3000, Seed: 10},
			{Kind: difftest.SetTrailer, Name: "X-Trailer-A", Value: "a"},
		}},
	},
	{
		// net/http reads up to 256 KiB of what the handler left unread
		// when it writes the headers, unless the body is its own *body
		// type; behind the Tap it is not.
		name: "ReadRestAfterFlush", h1: true, h2: true,
		s: difftest.Script{Method: "POST", Body: difftest.Pattern(1 << 20), Steps: []difftest.Step{
			{Kind: difftest.Read, N: 10, Buf: 512},
			{Kind: difftest.Write, N: 10, Seed: 11},
			{Kind: difftest.Flush},
			{Kind: difftest.ReadAll, Buf: 32 << 10},
			{Kind: difftest.Echo},
		}},
	},
	{
		// A body closed with more than 256 KiB unread makes net/http
		// send "Connection: close" with headers written afterwards.
		name: "CloseBodyEarlyThenFlush", h1: true, h2: true,
		s: difftest.Script{Method: "POST", Body: difftest.Pattern(1 << 20), Steps: []difftest.Step{
			{Kind: difftest.Read, N: 10, Buf: 512},
			{Kind: difftest.CloseBody},
			{Kind: difftest.Write, N: 10, Seed: 12},
			{Kind: difftest.Flush},
		}},
	},
	{
		// An unread body sent with "Expect: 100-continue": net/http
		// closes the connection instead of asking for the body.
		name: "ExpectContinueUnread", h1: true,
		s: difftest.Script{Method: "POST", Body: difftest.Pattern(1000), Expect: true, Steps: []difftest.Step{
			{Kind: difftest.Write, N: 10, Seed: 13},
			{Kind: difftest.Flush},
		}},
	},
	{
		name: "EmptyBodyUnread", h1: true, h2: true,
		s: difftest.Script{Method: "GET", Steps: []difftest.Step{
			{Kind: difftest.Write, N: 10, Seed: 14},
		}},
	},
	{
		// Over HTTP/2 a HEAD response is complete once its headers are
		// flushed; the server then ends the request's context itself.
		name: "HEADFlushedThenWork", h2: true,
		s: difftest.Script{Method: "HEAD", Steps: []difftest.Step{
			{Kind: difftest.Write, N: 10, Seed: 15},
			{Kind: difftest.Flush},
			{Kind: difftest.AwaitDone},
		}},
	},
}

// TestTransparencyCases plays the hand-written scripts.
func TestTransparencyCases(t *testing.T) {
	servers := map[bool]*difftest.Server{}
	for _, tc := range transparencyCases {
		for _, proto := range []struct {
			name string
			h2   bool
			on   bool
		}{{"HTTP1", false, tc.h1}, {"HTTP2", true, tc.h2}} {
			if !proto.on {
				continue
			}
			if servers[proto.h2] == nil {
				servers[proto.h2] = difftest.NewServer(t, proto.h2)
			}
			d := servers[proto.h2]
			t.Run(tc.name+"/"+proto.name, func(t *testing.T) {
				s := tc.s
				s.Steps = slices.Clone(s.Steps)
				playScript(t, d, &s)
			})
		}
	}
}

// TestTransparencyMultipartCleanup checks a side effect no client sees:
// net/http removes the temporary files of a multipart form the handler
// parsed, by way of its own Request's MultipartForm. Behind the Tap too.
func TestTransparencyMultipartCleanup(t *testing.T) {
	for _, tc := range []struct {
		name string
		tap  bool
	}{{"Bare", false}, {"Tapped", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("TMPDIR", dir) // where multipart puts its files
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// A memory limit of 1 byte sends the file part to disk.
				if err := r.ParseMultipartForm(1); err != nil {
					t.Error(err)
				}
			})
			if tc.tap {
				tap := New(Config{})
				defer tap.Close()
				h = tap.Handler(h)
			}
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, err := mw.CreateFormFile("f", "f.bin")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(difftest.Pattern(100 << 10))
			mw.Close()
			resp, err := srv.Client().Post(srv.URL, mw.FormDataContentType(), &body)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.Close() // waits for the request to finish, its cleanup included
			left, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("temporary files left after the request: got %d, want 0", len(left))
			}
		})
	}
}

// fuzzSource is a rand.Source that draws from the fuzzer's bytes, and from
// a seeded generator once they run out, so that every input decodes into
// a script by way of the same generator as TestTransparency.
type fuzzSource struct {
	b    []byte
	rest rand.Source
}

func (s *fuzzSource) Uint64() uint64 {
	if len(s.b) == 0 {
		return s.rest.Uint64()
	}
	var v [8]byte
	n := copy(v[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(v[:])
}

// FuzzTransparency decodes its input into a script and plays it over
// HTTP/1.1 with and without a Tap, checking what TestTransparency checks.
func FuzzTransparency(f *testing.F) {
	f.Add(uint64(1), []byte{})
	f.Add(uint64(2), []byte("\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(uint64(3), bytes.Repeat([]byte{0xff}, 64))
	f.Add(uint64(4), bytes.Repeat([]byte{0x80, 0x01}, 40))
	f.Add(uint64(5), []byte("bodytap transparency"))
	f.Add(uint64(6), bytes.Repeat([]byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x7f}, 16))
	f.Add(uint64(7), bytes.Repeat([]byte{0xaa}, 256))
	d := difftest.NewServer(f, false)
	l := difftest.Options{Big: 320 << 10}
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		src := &fuzzSource{b: data, rest: rand.NewPCG(seed, uint64(len(data)))}
		s := difftest.Gen(rand.New(src), seed, l)
		s.Settle(false)
		playScript(t, d, s)
	})
}
