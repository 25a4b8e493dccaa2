package bodytap

// Differential transparency tests. A generator writes random handler
// scripts; each script runs on a real server twice, once bare and once
// behind a Tap, and the two responses the client sees must be identical.
// The Exchange the Tap delivers must then describe what really passed.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	diffSeed = flag.Uint64("diff.seed", 1, "first seed of the scripts TestTransparency generates")
	diffN    = flag.Int("diff.n", 0, "scripts per protocol in TestTransparency (0: the default for the mode)")
)

// scriptHeader carries the id under which a diffServer finds the handler
// of a request.
const scriptHeader = "X-Diff-Script"

// A stepKind is one thing a script's handler does.
type stepKind uint8

const (
	stepSetHeader      stepKind = iota // w.Header().Set(name, value)
	stepAddHeader                      // w.Header().Add(name, value)
	stepDelHeader                      // w.Header().Del(name)
	stepContentLength                  // w.Header().Set("Content-Length", n)
	stepDeclareTrailer                 // w.Header().Add("Trailer", name)
	stepSetTrailer                     // w.Header().Set(name, value) for a declared trailer
	stepPrefixTrailer                  // w.Header().Set(http.TrailerPrefix+name, value)
	stepWriteHeader                    // w.WriteHeader(code)
	stepWrite                          // w.Write(data)
	stepWriteString                    // io.WriteString(w, data)
	stepCopy                           // io.Copy from a reader that is neither a file nor a WriterTo
	stepCopyFile                       // io.Copy from an *os.File
	stepReadFromFile                   // w.(io.ReaderFrom).ReadFrom(*os.File)
	stepCopyNFile                      // io.CopyN from an *os.File, as http.ServeContent does
	stepFlush                          // w.(http.Flusher).Flush()
	stepFlushRC                        // http.NewResponseController(w).Flush()
	stepRead                           // read up to n bytes of the request body
	stepReadAll                        // read the request body to its end
	stepCloseBody                      // r.Body.Close()
	stepEcho                           // write a summary of the request body read so far
	stepAbort                          // panic(http.ErrAbortHandler)
	stepAwaitDone                      // wait for the request's context to end (hand-written scripts only)
)

var stepNames = [...]string{
	stepSetHeader:      "Set",
	stepAddHeader:      "Add",
	stepDelHeader:      "Del",
	stepContentLength:  "ContentLength",
	stepDeclareTrailer: "DeclareTrailer",
	stepSetTrailer:     "SetTrailer",
	stepPrefixTrailer:  "PrefixTrailer",
	stepWriteHeader:    "WriteHeader",
	stepWrite:          "Write",
	stepWriteString:    "WriteString",
	stepCopy:           "Copy",
	stepCopyFile:       "CopyFile",
	stepReadFromFile:   "ReadFromFile",
	stepCopyNFile:      "CopyNFile",
	stepFlush:          "Flush",
	stepFlushRC:        "FlushRC",
	stepRead:           "Read",
	stepReadAll:        "ReadAll",
	stepCloseBody:      "CloseBody",
	stepEcho:           "Echo",
	stepAbort:          "Abort",
	stepAwaitDone:      "AwaitDone",
}

// writes reports whether the step writes body bytes it knows in advance.
func (k stepKind) writes() bool { return k >= stepWrite && k <= stepCopyNFile }

// usesFile reports whether the step reads its data from a file.
func (k stepKind) usesFile() bool { return k >= stepCopyFile && k <= stepCopyNFile }

type step struct {
	kind  stepKind
	name  string // header or trailer name
	value string // header or trailer value
	code  int    // status for stepWriteHeader
	n     int    // bytes to write or read, or the Content-Length
	buf   int    // read buffer size
	seed  uint64 // content seed for writes
	text  bool   // write text (sniffed as text/plain) rather than binary

	data []byte // content, filled in by prepare
	str  string // data as a string, for stepWriteString
	file string // path of a file holding data
}

func (st step) String() string {
	s := stepNames[st.kind]
	switch st.kind {
	case stepSetHeader, stepAddHeader, stepSetTrailer, stepPrefixTrailer:
		return fmt.Sprintf("%s %s: %q", s, st.name, st.value)
	case stepDelHeader, stepDeclareTrailer:
		return s + " " + st.name
	case stepContentLength:
		return fmt.Sprintf("%s %d", s, st.n)
	case stepWriteHeader:
		return fmt.Sprintf("%s %d", s, st.code)
	case stepRead:
		return fmt.Sprintf("%s %d (buf %d)", s, st.n, st.buf)
	case stepReadAll:
		return fmt.Sprintf("%s (buf %d)", s, st.buf)
	}
	if st.kind.writes() {
		kind := "binary"
		if st.text {
			kind = "text"
		}
		return fmt.Sprintf("%s %d bytes (%s, seed %d)", s, st.n, kind, st.seed)
	}
	return s
}

// A handlerScript is a handler's behaviour and the request that drives it.
type handlerScript struct {
	seed    uint64
	method  string
	body    []byte // request body; nil: none
	chunked bool   // send the body without a Content-Length
	expect  bool   // send "Expect: 100-continue"
	early   bool   // the response may be complete before the handler returns (see settle)
	max     int64  // Config.MaxBodyBytes
	steps   []step
}

func (s *handlerScript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s", s.seed, s.method)
	if s.body != nil {
		fmt.Fprintf(&b, " with a %d-byte body", len(s.body))
		if s.chunked {
			b.WriteString(" (no Content-Length)")
		}
		if s.expect {
			b.WriteString(" (Expect: 100-continue)")
		}
	}
	fmt.Fprintf(&b, ", MaxBodyBytes %d\n", s.max)
	for i, o := range s.steps {
		fmt.Fprintf(&b, "%3d  %v\n", i, o)
	}
	return b.String()
}

// aborts reports whether the script panics with http.ErrAbortHandler.
func (s *handlerScript) aborts() bool {
	return slices.ContainsFunc(s.steps, func(st step) bool { return st.kind == stepAbort })
}

// keep is how many bytes of a body the Tap keeps under the script's cap.
func (s *handlerScript) keep(size int) int {
	switch {
	case s.max == 0:
		return min(size, DefaultMaxBodyBytes)
	case s.max < 0:
		return 0
	}
	return int(min(int64(size), s.max))
}

// scriptLimits scales the sizes the generator picks.
type scriptLimits struct {
	big int // the largest body: several MiB normally, less under -race
}

func defaultScriptLimits() scriptLimits {
	if raceEnabled {
		return scriptLimits{big: 640 << 10}
	}
	return scriptLimits{big: 4 << 20}
}

// size picks a body size: mostly small, sometimes past the 256 KiB that
// net/http reads on a handler's behalf, rarely a few MiB. Empty writes
// are common on purpose: net/http sends the headers on an empty Write but
// not on an empty ReadFrom.
func (l scriptLimits) size(r *rand.Rand) int {
	switch p := r.IntN(100); {
	case p < 5:
		return 0
	case p < 11:
		return pickOne(r, diffEdgeSizes)
	case p < 45:
		return r.IntN(65)
	case p < 75:
		return 65 + r.IntN(4<<10)
	case p < 92:
		return 4<<10 + r.IntN(70<<10)
	case p < 99:
		return 70<<10 + r.IntN(min(l.big, 600<<10)-70<<10)
	}
	return l.big/2 + r.IntN(l.big/2)
}

func (l scriptLimits) bodySize(r *rand.Rand) int {
	switch p := r.IntN(100); {
	case p < 30:
		return 0
	case p < 60:
		return 1 + r.IntN(1<<10)
	case p < 78:
		return 1<<10 + r.IntN(64<<10)
	case p < 95:
		return 64<<10 + r.IntN(min(l.big, 700<<10)-64<<10)
	}
	return l.big/2 + r.IntN(l.big/2)
}

var (
	diffCaps         = []int64{0, 1, 100, 4096, 1 << 20, -1}
	diffHeaderNames  = []string{"X-Alpha", "X-Beta", "X-Multi", "Cache-Control", "Content-Type", "Vary", "Set-Cookie", "x-lower"}
	diffHeaderValues = []string{"", "a", "no-store", "text/plain; charset=utf-8", "application/json", "text/html", "id=1; Path=/", "Accept-Encoding", "x y z"}
	diffTrailerNames = []string{"X-Trailer-A", "X-Trailer-B", "Grpc-Status"}
	diffPrefixNames  = []string{"X-Late-A", "X-Late-B"}
	diffFinalCodes   = []int{200, 200, 201, 202, 204, 206, 304, 400, 404, 418, 500, 503}
	diffInfoCodes    = []int{103, 103, 103, 102, 100, 150, 199}
	// diffEdgeSizes sit on net/http's thresholds (512 bytes sniffed before
	// ReadFrom sends the headers, a 2 KiB buffer before chunking) and on
	// the Tap's default cap.
	diffEdgeSizes      = []int{511, 512, 513, 550, 1023, 2047, 2048, 2049, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1}
	diffReadBufSizes   = []int{1, 7, 512, 4 << 10, 32 << 10}
	diffEarlyHintLinks = []string{"</style.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"}
)

func pickOne[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randToken(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, 1+r.IntN(16))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func genHeaderStep(r *rand.Rand) step {
	st := step{name: pickOne(r, diffHeaderNames)}
	if r.IntN(2) == 0 {
		st.value = pickOne(r, diffHeaderValues)
	} else {
		st.value = randToken(r)
	}
	switch p := r.IntN(10); {
	case p < 6:
		st.kind = stepSetHeader
	case p < 9:
		st.kind = stepAddHeader
	default:
		st.kind = stepDelHeader
	}
	return st
}

func genWriteStep(r *rand.Rand, l scriptLimits) step {
	kinds := []stepKind{stepWrite, stepWrite, stepWrite, stepWriteString, stepWriteString, stepCopy, stepCopy, stepCopyFile, stepReadFromFile, stepCopyNFile}
	return step{kind: pickOne(r, kinds), n: l.size(r), seed: r.Uint64(), text: r.IntN(3) == 0}
}

func genReadStep(r *rand.Rand, s *handlerScript, l scriptLimits) step {
	st := step{buf: pickOne(r, diffReadBufSizes)}
	if len(s.body) > 4<<10 {
		// Byte-sized reads of a large body cost seconds over HTTP/2.
		st.buf = max(st.buf, 512)
	}
	switch p := r.IntN(10); {
	case p < 4:
		st.kind = stepReadAll
	case p < 7:
		st.kind, st.n = stepRead, r.IntN(len(s.body)+2)
	default:
		st.kind, st.n = stepRead, l.size(r)
	}
	return st
}

// genScript writes a random script. Most scripts follow the usual order
// of a handler (headers, 1xx, request body, status, body, trailers); some
// are shuffled a little to reach orders nobody would write on purpose.
func genScript(r *rand.Rand, seed uint64, l scriptLimits) *handlerScript {
	s := &handlerScript{seed: seed, max: pickOne(r, diffCaps)}
	switch p := r.IntN(100); {
	case p < 15:
		s.method = "GET"
	case p < 25:
		s.method = "HEAD"
	case p < 85:
		s.method = "POST"
	default:
		s.method = "PUT"
	}
	if s.method == "POST" || s.method == "PUT" {
		s.body = make([]byte, l.bodySize(r))
		rand.NewChaCha8(diffSeedBytes(r.Uint64())).Read(s.body)
		s.chunked = r.IntN(10) < 3
	}

	var steps []step
	add := func(st step) { steps = append(steps, st) }
	for range r.IntN(4) {
		add(genHeaderStep(r))
	}
	var declared []string
	if r.IntN(4) == 0 {
		// Distinct names: a trailer declared twice goes out twice over
		// HTTP/1.1 and once over HTTP/2.
		for _, name := range diffTrailerNames[:1+r.IntN(len(diffTrailerNames))] {
			if r.IntN(2) == 0 {
				declared = append(declared, name)
				add(step{kind: stepDeclareTrailer, name: name})
			}
		}
	}
	for range []int{0, 0, 0, 0, 0, 1, 1, 1, 2, 3}[r.IntN(10)] {
		if r.IntN(10) < 7 {
			add(step{kind: stepAddHeader, name: "Link", value: pickOne(r, diffEarlyHintLinks)})
		}
		add(step{kind: stepWriteHeader, code: pickOne(r, diffInfoCodes)})
	}
	if s.body != nil || r.IntN(4) == 0 {
		for range r.IntN(3) {
			add(genReadStep(r, s, l))
		}
		if r.IntN(6) == 0 {
			add(step{kind: stepCloseBody})
		}
	}
	if r.IntN(10) < 6 {
		add(step{kind: stepWriteHeader, code: pickOne(r, diffFinalCodes)})
		if r.IntN(7) == 0 {
			add(step{kind: stepWriteHeader, code: pickOne(r, diffFinalCodes)})
		}
	}
	for range r.IntN(6) {
		add(genWriteStep(r, l))
		switch p := r.IntN(20); {
		case p < 4:
			add(step{kind: stepFlush})
		case p < 6:
			add(step{kind: stepFlushRC})
		case p < 8:
			add(genHeaderStep(r))
		case p < 10:
			add(genReadStep(r, s, l))
		case p < 11:
			add(step{kind: stepCloseBody})
		case p < 12:
			add(step{kind: stepEcho})
		case p < 13:
			add(step{kind: stepWriteHeader, code: pickOne(r, diffFinalCodes)})
		}
	}
	for _, name := range declared {
		if r.IntN(8) > 0 {
			add(step{kind: stepSetTrailer, name: name, value: randToken(r)})
		}
	}
	if r.IntN(6) == 0 {
		for range 1 + r.IntN(2) {
			add(step{kind: stepPrefixTrailer, name: pickOne(r, diffPrefixNames), value: randToken(r)})
		}
	}
	if r.IntN(8) == 0 {
		add(step{kind: stepEcho})
	}

	// A Content-Length that matches what the script writes, as a handler
	// serving a file sets it; it also lets net/http use sendfile.
	if r.IntN(5) == 0 && !slices.ContainsFunc(steps, func(st step) bool { return st.kind == stepEcho }) {
		total := 0
		first := len(steps)
		for i, o := range steps {
			if o.kind.writes() {
				total += o.n
				first = min(first, i)
			}
		}
		at := r.IntN(first + 1)
		if r.IntN(5) == 0 {
			at = r.IntN(len(steps) + 1)
		}
		steps = slices.Insert(steps, at, step{kind: stepContentLength, n: total})
	}
	if r.IntN(100) < 12 {
		steps = slices.Insert(steps, r.IntN(len(steps)+1), step{kind: stepAbort})
	}
	if len(steps) > 1 && r.IntN(5) == 0 {
		for range 1 + r.IntN(3) {
			i, j := r.IntN(len(steps)), r.IntN(len(steps))
			steps[i], steps[j] = steps[j], steps[i]
		}
	}
	s.steps = steps
	return s
}

// settle drops the steps whose outcome is a race inside net/http, with or
// without a Tap, so that the two runs can be compared step for step:
//   - over HTTP/2, reads of the request body once a status above 299 may
//     have gone out: the client then stops sending the body (the
//     golang.org/issue/13444 heuristic), and the read gets data or blocks
//     until the client gives up;
//   - reads and Close of the request body once the response may be
//     complete on the wire (its whole Content-Length written over
//     HTTP/1.1; a HEAD, or over HTTP/1.1 a 204 or 304, whose headers may
//     have gone out): the client may close the connection under them;
//   - over HTTP/2, FlushError once a HEAD response may be complete: it
//     reports the stream closed, or not, depending on when the server
//     noticed.
//
// It notes in s.early that the response may be complete before the handler
// returns, when the server or the client may end the request's context.
func (s *handlerScript) settle(h2 bool) {
	status, cl, written, out := 0, -1, 0, false
	s.steps = slices.DeleteFunc(s.steps, func(st step) bool {
		switch {
		case st.kind == stepFlushRC && h2 && s.early:
			return true
		case st.kind == stepWriteHeader && status == 0 && st.code >= 200:
			status = st.code
		case st.kind == stepContentLength && status == 0:
			cl = st.n
		case st.kind.writes() || st.kind == stepFlush || st.kind == stepFlushRC || st.kind == stepEcho:
			if status == 0 {
				status = http.StatusOK
			}
			written += st.n
			out = true
		case st.kind == stepRead || st.kind == stepReadAll:
			return s.early || h2 && out && status > 299
		case st.kind == stepCloseBody:
			return s.early
		}
		s.early = s.early || !h2 && cl >= 0 && written >= cl ||
			out && (s.method == "HEAD" || !h2 && (status == http.StatusNoContent || status == http.StatusNotModified))
		return false
	})
}

func diffSeedBytes(v uint64) [32]byte {
	var b [32]byte
	for i := range 4 {
		v = v*6364136223846793005 + 1442695040888963407
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// prepare makes the content of the script's writes, and the files that
// file steps read from, in dir.
func (s *handlerScript) prepare(tb testing.TB, dir string) {
	tb.Helper()
	for i := range s.steps {
		st := &s.steps[i]
		if !st.kind.writes() || st.data != nil {
			continue
		}
		st.data = make([]byte, st.n)
		rand.NewChaCha8(diffSeedBytes(st.seed)).Read(st.data)
		if st.text {
			for j, c := range st.data {
				st.data[j] = 'a' + c%26
				if c%16 == 0 {
					st.data[j] = ' '
				}
			}
		}
		st.str = string(st.data)
		if st.kind.usesFile() {
			st.file = filepath.Join(dir, fmt.Sprintf("step%d", i))
			if err := os.WriteFile(st.file, st.data, 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// scriptObs is what a script's handler saw in one run.
type scriptObs struct {
	contentLength int64 // r.ContentLength
	noBody        bool  // r.Body was nil or http.NoBody
	read          []byte
	readEOF       bool     // a Read returned io.EOF
	readErr       string   // the last Read error other than io.EOF
	wrote         []byte   // the body bytes the writer accepted
	writeFailed   bool     // a write or flush returned an error
	results       []string // n and failure of each write
	errs          []string // the errors of each write, for messages
	aborted       bool
	done          chan struct{} // closed when the handler has returned
}

func newScriptObs() *scriptObs { return &scriptObs{done: make(chan struct{})} }

func (o *scriptObs) note(i int, n int64, err error) {
	// Error texts can differ between two runs without the Tap (HTTP/2
	// reports a closed stream in more than one way): compare whether.
	o.results = append(o.results, fmt.Sprintf("step %d: n=%d failed=%t", i, n, err != nil))
	o.errs = append(o.errs, fmt.Sprintf("step %d: %v", i, err))
	if err != nil {
		o.writeFailed = true
	}
}

func (o *scriptObs) readBody(body io.Reader, n, bufSize int) {
	buf := make([]byte, bufSize)
	for got, zero := 0, 0; (n < 0 || got < n) && zero < 100; {
		p := buf
		if n >= 0 && n-got < len(p) {
			p = p[:n-got]
		}
		m, err := body.Read(p)
		o.read = append(o.read, p[:m]...)
		got += m
		if m == 0 {
			zero++
		}
		if err == io.EOF {
			o.readEOF = true
		} else if err != nil {
			o.readErr = err.Error()
		}
		if err != nil {
			return
		}
	}
}

// onlyReader hides every method but Read, so that io.Copy has to use the
// writer's ReadFrom (or Write) instead of the source's WriteTo.
type onlyReader struct{ io.Reader }

// handler returns the handler that plays s, noting what it sees in o.
func (s *handlerScript) handler(o *scriptObs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(o.done)
		o.contentLength = r.ContentLength
		o.noBody = r.Body == nil || r.Body == http.NoBody
		for i := range s.steps {
			s.steps[i].play(i, w, r, o)
		}
	})
}

func (st *step) play(i int, w http.ResponseWriter, r *http.Request, o *scriptObs) {
	h := w.Header()
	switch st.kind {
	case stepSetHeader, stepSetTrailer:
		h.Set(st.name, st.value)
	case stepAddHeader:
		h.Add(st.name, st.value)
	case stepDelHeader:
		h.Del(st.name)
	case stepContentLength:
		h.Set("Content-Length", strconv.Itoa(st.n))
	case stepDeclareTrailer:
		h.Add("Trailer", st.name)
	case stepPrefixTrailer:
		h.Set(http.TrailerPrefix+st.name, st.value)
	case stepWriteHeader:
		w.WriteHeader(st.code)
	case stepWrite:
		n, err := w.Write(st.data)
		o.wrote = append(o.wrote, st.data[:n]...)
		o.note(i, int64(n), err)
	case stepWriteString:
		n, err := io.WriteString(w, st.str)
		o.wrote = append(o.wrote, st.data[:n]...)
		o.note(i, int64(n), err)
	case stepCopy, stepCopyFile, stepReadFromFile, stepCopyNFile:
		var src io.Reader
		if st.kind == stepCopy {
			src = onlyReader{bytes.NewReader(st.data)}
		} else {
			f, err := os.Open(st.file)
			if err != nil {
				panic(err)
			}
			defer f.Close()
			src = f
		}
		var n int64
		var err error
		switch rf, ok := w.(io.ReaderFrom); {
		case st.kind == stepReadFromFile && ok:
			n, err = rf.ReadFrom(src)
		case st.kind == stepCopyNFile:
			n, err = io.CopyN(w, src, int64(len(st.data)))
		default:
			n, err = io.Copy(w, src)
		}
		o.wrote = append(o.wrote, st.data[:n]...)
		o.note(i, n, err)
	case stepFlush:
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	case stepFlushRC:
		o.note(i, 0, http.NewResponseController(w).Flush())
	case stepRead:
		o.readBody(r.Body, st.n, st.buf)
	case stepReadAll:
		o.readBody(r.Body, -1, st.buf)
	case stepCloseBody:
		if err := r.Body.Close(); err != nil {
			o.readErr = err.Error()
		}
	case stepEcho:
		// Not whether it saw EOF: see eofRace in compareScriptRuns.
		line := fmt.Sprintf("read=%d crc=%08x err=%q\n", len(o.read), crc32.ChecksumIEEE(o.read), o.readErr)
		n, err := io.WriteString(w, line)
		o.wrote = append(o.wrote, line[:n]...)
		o.note(i, int64(n), err)
	case stepAbort:
		o.aborted = true
		panic(http.ErrAbortHandler)
	case stepAwaitDone:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// A diffServer is a real server that plays scripts: each request names,
// in scriptHeader, the handler registered for it.
type diffServer struct {
	srv      *httptest.Server
	h2       bool
	handlers sync.Map // id → http.Handler
	ids      atomic.Uint64
}

func newDiffServer(tb testing.TB, h2 bool) *diffServer {
	tb.Helper()
	d := &diffServer{h2: h2}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := d.handlers.Load(r.Header.Get(scriptHeader))
		if !ok {
			http.Error(w, "no such script", http.StatusInternalServerError)
			return
		}
		h.(http.Handler).ServeHTTP(w, r)
	}))
	d.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h2 {
		d.srv.EnableHTTP2 = true
		d.srv.StartTLS()
	} else {
		d.srv.Start()
	}
	tb.Cleanup(d.srv.Close)
	return d
}

// client returns the client for one run and a function that releases it.
// Over HTTP/1.1 every run gets a fresh connection: on a reused one the
// Transport would retry a request whose handler aborted, and run the
// handler twice.
func (d *diffServer) client() (*http.Client, func()) {
	if d.h2 {
		return d.srv.Client(), func() {}
	}
	tr := &http.Transport{ForceAttemptHTTP2: false, DisableCompression: true, ExpectContinueTimeout: 500 * time.Millisecond}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// gotInfo is a 1xx response as the client saw it.
type gotInfo struct {
	code   int
	header http.Header
}

// runResult is what the client saw of one run.
type runResult struct {
	err     error // from Do or from reading the body
	status  int
	header  http.Header // without Date
	close   bool        // resp.Close: a "Connection: close" the client took out of header
	clen    int64
	te      []string
	body    []byte
	trailer http.Header
	infos   []gotInfo
	obs     *scriptObs
}

// run plays s on d, its handler wrapped by wrap (if not nil), and returns
// what the client and the handler saw. wait runs once the client has read
// the response and the handler has returned, before the connection is let
// go (which would cancel the request's context).
func (d *diffServer) run(tb testing.TB, s *handlerScript, wrap func(http.Handler) http.Handler, wait func()) *runResult {
	tb.Helper()
	o := newScriptObs()
	h := s.handler(o)
	if wrap != nil {
		h = wrap(h)
	}
	id := strconv.FormatUint(d.ids.Add(1), 10)
	d.handlers.Store(id, h)
	defer d.handlers.Delete(id)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := &runResult{obs: o}
	var mu sync.Mutex
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			res.infos = append(res.infos, gotInfo{code, http.Header(h).Clone()})
			mu.Unlock()
			return nil
		},
	})
	var body io.Reader
	if s.body != nil {
		body = bytes.NewReader(s.body)
		if s.chunked {
			body = onlyReader{body}
		}
	}
	req, err := http.NewRequestWithContext(ctx, s.method, d.srv.URL+"/script", body)
	if err != nil {
		tb.Fatal(err)
	}
	if s.chunked {
		req.ContentLength = -1
	}
	req.Header.Set(scriptHeader, id)
	if s.expect {
		req.Header.Set("Expect", "100-continue")
	}
	client, release := d.client()
	defer release()
	resp, err := client.Do(req)
	if err == nil {
		res.status = resp.StatusCode
		res.header = resp.Header.Clone()
		res.header.Del("Date")
		res.close = resp.Close
		res.clen = resp.ContentLength
		res.te = resp.TransferEncoding
		res.body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		res.trailer = resp.Trailer.Clone()
	}
	res.err = err
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		tb.Fatal("handler did not return within 10s")
	}
	if wait != nil {
		wait()
	}
	mu.Lock()
	defer mu.Unlock()
	return res
}

// fmtHeaderSorted formats h with sorted keys, one per line, for comparisons.
func fmtHeaderSorted(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(&b, "%s: %q\n", k, h[k])
	}
	return b.String()
}

func fmtGotInfos(infos []gotInfo) string {
	var b strings.Builder
	for _, in := range infos {
		fmt.Fprintf(&b, "%d\n%s", in.code, fmtHeaderSorted(in.header))
	}
	return b.String()
}

// wireTrailers is the trailers that reached the client: a trailer declared
// but never sent shows in resp.Trailer as a key without values.
func wireTrailers(h http.Header) http.Header {
	t := http.Header{}
	for k, vv := range h {
		if len(vv) > 0 {
			t[k] = vv
		}
	}
	return t
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

// excerpt returns a printable excerpt of a body for failure messages.
func excerpt(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes, crc %08x)", b[:64], len(b), crc32.ChecksumIEEE(b))
	}
	return fmt.Sprintf("%q", b)
}

func errWord(err error) string {
	if err == nil {
		return "no error"
	}
	return "an error"
}

// compareScriptRuns reports every difference between what the client (and the
// handler) saw behind the Tap (got) and without it (want).
func compareScriptRuns(tb testing.TB, s *handlerScript, got, want *runResult) {
	tb.Helper()
	g, w := got.obs, want.obs
	if g.aborted != w.aborted {
		tb.Errorf("handler aborted: got %t, want %t", g.aborted, w.aborted)
	}
	if !bytes.Equal(g.read, w.read) {
		tb.Errorf("request body the handler read: got %s, want %s", excerpt(g.read), excerpt(w.read))
	}
	// A read that stops right at the end of a chunked body sees EOF with
	// its last bytes only if the last chunk had already arrived.
	eofRace := s.chunked && len(g.read) == len(s.body) && len(w.read) == len(s.body)
	if g.readEOF != w.readEOF && !eofRace || g.readErr != w.readErr {
		tb.Errorf("request body end: got EOF %t err %q, want EOF %t err %q", g.readEOF, g.readErr, w.readEOF, w.readErr)
	}
	if a, b := strings.Join(g.results, "\n"), strings.Join(w.results, "\n"); a != b {
		tb.Errorf("results of the handler's writes:\ngot  %q\nwant %q\n(errors: got %q, want %q)", a, b, g.errs, w.errs)
	}
	if (got.err == nil) != (want.err == nil) {
		tb.Errorf("client: got %s (%v), want %s (%v)", errWord(got.err), got.err, errWord(want.err), want.err)
		return
	}
	if s.aborts() {
		return
	}
	if a, b := fmtGotInfos(got.infos), fmtGotInfos(want.infos); a != b {
		tb.Errorf("1xx responses: got %q, want %q", a, b)
	}
	if got.status != want.status {
		tb.Errorf("status: got %d, want %d", got.status, want.status)
	}
	if a, b := fmtHeaderSorted(got.header), fmtHeaderSorted(want.header); a != b {
		tb.Errorf("header: got %q, want %q", a, b)
	}
	if got.close != want.close {
		tb.Errorf("Connection: close (resp.Close): got %t, want %t", got.close, want.close)
	}
	if got.clen != want.clen {
		tb.Errorf("ContentLength: got %d, want %d", got.clen, want.clen)
	}
	if !slices.Equal(got.te, want.te) {
		tb.Errorf("TransferEncoding: got %q, want %q", got.te, want.te)
	}
	if got.err != nil {
		// The client saw the response break; how much of the body it
		// read before is a matter of timing.
		return
	}
	if !bytes.Equal(got.body, want.body) {
		tb.Errorf("body: got %s, want %s", excerpt(got.body), excerpt(want.body))
	}
	if a, b := fmtHeaderSorted(got.trailer), fmtHeaderSorted(want.trailer); a != b {
		tb.Errorf("trailer: got %q, want %q", a, b)
	}
}

// checkCapturedBody checks a captured body against the bytes that passed.
func checkCapturedBody(tb testing.TB, what string, s *handlerScript, b Body, passed []byte) {
	tb.Helper()
	if b.Size != int64(len(passed)) {
		tb.Errorf("%s Body.Size: got %d, want %d", what, b.Size, len(passed))
	}
	if want := passed[:s.keep(len(passed))]; !bytes.Equal(b.Bytes, want) {
		tb.Errorf("%s Body.Bytes: got %s, want %s", what, excerpt(b.Bytes), excerpt(want))
	}
	if want := b.Size > int64(len(b.Bytes)); b.Truncated != want {
		tb.Errorf("%s Body.Truncated: got %t, want %t (Size %d, %d bytes kept)", what, b.Truncated, want, b.Size, len(b.Bytes))
	}
}

// checkScriptExchange checks that x describes what passed in the run res.
// bare is the run without the Tap.
func checkScriptExchange(tb testing.TB, s *handlerScript, x *Exchange, res, bare *runResult) {
	tb.Helper()
	o := res.obs
	aborted := s.aborts()

	if x.Request.Method != s.method {
		tb.Errorf("Request.Method: got %q, want %q", x.Request.Method, s.method)
	}
	if x.Request.ContentLength != o.contentLength {
		tb.Errorf("Request.ContentLength: got %d, want %d", x.Request.ContentLength, o.contentLength)
	}
	checkCapturedBody(tb, "Request", s, x.Request.Body, o.read)
	// net/http itself may take bytes from under a handler that reads
	// after the headers went out (it reads up to 256 KiB of a chunked
	// body then): when it did not without the Tap, the copy must be a
	// prefix of what the client sent.
	if n := len(x.Request.Body.Bytes); bytes.HasPrefix(s.body, bare.obs.read) &&
		(n > len(s.body) || !bytes.Equal(x.Request.Body.Bytes, s.body[:n])) {
		tb.Errorf("Request.Body.Bytes is not a prefix of the request body: got %s, want a prefix of %s", excerpt(x.Request.Body.Bytes), excerpt(s.body))
	}
	if want := o.readEOF || o.noBody || o.contentLength == 0; x.Request.Body.EOF != want {
		tb.Errorf("Request.Body.EOF: got %t, want %t (handler read %d bytes, saw EOF %t; ContentLength %d)",
			x.Request.Body.EOF, want, len(o.read), o.readEOF, o.contentLength)
	}

	checkCapturedBody(tb, "Response", s, x.Response.Body, o.wrote)
	if !aborted && s.method != "HEAD" && res.err == nil && x.Response.Body.Size != int64(len(res.body)) {
		tb.Errorf("Response.Body.Size: got %d, want %d (the body the client received)", x.Response.Body.Size, len(res.body))
	}
	if want := !aborted && !o.writeFailed; x.Response.Body.EOF != want {
		tb.Errorf("Response.Body.EOF: got %t, want %t", x.Response.Body.EOF, want)
	}

	var got, want []string
	for _, in := range x.Response.Informational {
		got = append(got, fmt.Sprintf("%d %q", in.Status, in.Header.Values("Link")))
	}
	for _, in := range res.infos {
		want = append(want, fmt.Sprintf("%d %q", in.code, in.header.Values("Link")))
	}
	// A client whose response broke (an abort can reset the connection)
	// may have lost 1xx responses that were sent, never seen extra ones.
	if res.err == nil && !slices.Equal(got, want) || res.err != nil && !slices.Equal(got[:min(len(got), len(want))], want) {
		tb.Errorf("Response.Informational: got %q, want %q", got, want)
	}

	if aborted {
		if !errors.Is(x.Err, ErrAborted) {
			tb.Errorf("Err: got %v, want %v", x.Err, ErrAborted)
		}
		return
	}
	if res.status != 0 && x.Response.Status != res.status {
		tb.Errorf("Response.Status: got %d, want %d", x.Response.Status, res.status)
	}
	if res.status != 0 {
		if a, b := fmtHeaderSorted(handlerHeader(x.Response.Header)), fmtHeaderSorted(handlerHeader(res.header)); a != b {
			tb.Errorf("Response.Header (without the headers the server computes): got %q, want %q", a, b)
		}
	}
	if res.err != nil {
		return
	}
	if a, b := fmtHeaderSorted(wireTrailers(x.Response.Trailer)), fmtHeaderSorted(wireTrailers(res.trailer)); a != b {
		tb.Errorf("Response.Trailer: got %q, want %q", a, b)
	}
	if !o.writeFailed && !s.early && x.Err != nil {
		tb.Errorf("Err: got %v, want nil", x.Err)
	}
}

// playScript runs s bare and behind a Tap on d, and checks both the
// difference and the Exchange.
func playScript(t *testing.T, d *diffServer, s *handlerScript) {
	defer func() {
		if t.Failed() {
			t.Logf("script (rerun with -run '%s'):\n%s", rerunPattern(t.Name()), s)
		}
	}()
	s.prepare(t, t.TempDir())

	want := d.run(t, s, nil, nil)

	c := newCollector()
	// Redaction (on by default) would change the recorded headers and bodies;
	// this test compares the record with the wire, so it keeps everything.
	tap := New(Config{Sink: c, MaxBodyBytes: s.max, Redact: Redaction{Disabled: true}})
	var x *Exchange
	got := d.run(t, s, tap.Handler, func() { x = c.next(t) })
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.ch); n != 0 {
		t.Errorf("exchanges delivered: got %d, want 1", 1+n)
	}

	compareScriptRuns(t, s, got, want)
	checkScriptExchange(t, s, x, got, want)
}

// rerunPattern returns the -run pattern that selects the test named name
// and no other.
func rerunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// scriptsPerProtocol is how many scripts TestTransparency plays over each
// protocol.
func scriptsPerProtocol() int {
	switch {
	case *diffN > 0:
		return *diffN
	case testing.Short():
		return 30
	case raceEnabled:
		return 80
	}
	return 150
}

// TestTransparency plays random handler scripts over HTTP/1.1 and HTTP/2,
// with and without a Tap: the client must see the same thing, and the
// Exchange must tell what passed. A failure prints the script and the -run
// pattern that replays it alone; -diff.seed and -diff.n play another range.
func TestTransparency(t *testing.T) {
	l := defaultScriptLimits()
	n := scriptsPerProtocol()
	for _, proto := range []struct {
		name string
		h2   bool
	}{{"HTTP1", false}, {"HTTP2", true}} {
		t.Run(proto.name, func(t *testing.T) {
			d := newDiffServer(t, proto.h2)
			for seed := *diffSeed; seed < *diffSeed+uint64(n); seed++ {
				s := genScript(rand.New(rand.NewPCG(seed, 0x6469666674657374)), seed, l)
				s.settle(proto.h2)
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					playScript(t, d, s)
				})
			}
		})
	}
}

// testPattern returns n bytes of reproducible content.
func testPattern(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(diffSeedBytes(uint64(n))).Read(b)
	return b
}

// transparencyCases are hand-written scripts for cases that matter and
// that the generator reaches only now and then.
var transparencyCases = []struct {
	name   string
	h1, h2 bool // protocols to play it over
	s      handlerScript
}{
	{
		name: "EarlyHintsThenStreamedBody", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepAddHeader, name: "Link", value: diffEarlyHintLinks[0]},
			{kind: stepWriteHeader, code: 103},
			{kind: stepWriteHeader, code: 200},
			{kind: stepWrite, n: 3000, seed: 1},
			{kind: stepFlush},
			{kind: stepWriteString, n: 10, seed: 2, text: true},
		}},
	},
	{
		name: "ImplicitOKAfter1xx", h1: true, h2: true,
		s: handlerScript{method: "GET", max: 1, steps: []step{
			{kind: stepWriteHeader, code: 103},
			{kind: stepWriteHeader, code: 102},
		}},
	},
	{
		name: "SendfileWithContentLength", h1: true, h2: true,
		s: handlerScript{method: "GET", max: 100, steps: []step{
			{kind: stepContentLength, n: 1 << 20},
			{kind: stepReadFromFile, n: 1 << 20, seed: 3},
		}},
	},
	{
		name: "CopyNFileAfterHeaders", h1: true, h2: true,
		s: handlerScript{method: "GET", max: 4096, steps: []step{
			{kind: stepContentLength, n: 1<<20 + 100},
			{kind: stepWrite, n: 100, seed: 4},
			{kind: stepFlush},
			{kind: stepCopyNFile, n: 1 << 20, seed: 5},
		}},
	},
	{
		// net/http's ReadFrom sends the headers once it has 512 bytes
		// to sniff; the Tap's first ReadFrom stops at the cap.
		name: "ReadFromJustPastSniffLen", h1: true, h2: true,
		s: handlerScript{method: "GET", max: 100, steps: []step{
			{kind: stepCopy, n: 550, seed: 16},
		}},
	},
	{
		// A ReadFrom that copies nothing sends no headers: net/http
		// takes the status that comes next.
		name: "EmptyReadFromThenWriteHeader", h1: true, h2: true,
		s: handlerScript{method: "GET", max: -1, steps: []step{
			{kind: stepCopy, n: 0, seed: 17},
			{kind: stepSetHeader, name: "X-Alpha", value: "set after the empty copy"},
			{kind: stepWriteHeader, code: 202},
			{kind: stepWrite, n: 5, seed: 18},
		}},
	},
	{
		name: "AbortAfterFlush", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepWrite, n: 5000, seed: 6},
			{kind: stepFlush},
			{kind: stepAbort},
		}},
	},
	{
		name: "DeclaredAndPrefixTrailers", h1: true, h2: true,
		s: handlerScript{method: "POST", body: testPattern(100), steps: []step{
			{kind: stepDeclareTrailer, name: "Grpc-Status"},
			{kind: stepReadAll, buf: 512},
			{kind: stepWrite, n: 3000, seed: 7},
			{kind: stepFlush},
			{kind: stepSetTrailer, name: "Grpc-Status", value: "0"},
			{kind: stepPrefixTrailer, name: "X-Late-A", value: "late"},
		}},
	},
	{
		// Over HTTP/1.1 net/http sends a TrailerPrefix trailer only when
		// the response is chunked: a small unflushed body gets a
		// Content-Length instead, and the trailer is dropped.
		name: "PrefixTrailerSmallBody", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepWrite, n: 5, seed: 8, text: true},
			{kind: stepPrefixTrailer, name: "X-Late-A", value: "late"},
		}},
	},
	{
		name: "TrailerWithContentLength", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepDeclareTrailer, name: "X-Trailer-A"},
			{kind: stepContentLength, n: 3000},
			{kind: stepWrite, n: 3000, seed: 9},
			{kind: stepFlush},
			{kind: stepSetTrailer, name: "X-Trailer-A", value: "a"},
		}},
	},
	{
		name: "TrailerOn204", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepDeclareTrailer, name: "X-Trailer-A"},
			{kind: stepWriteHeader, code: 204},
			{kind: stepFlush},
			{kind: stepSetTrailer, name: "X-Trailer-A", value: "a"},
		}},
	},
	{
		name: "TrailerOnHEAD", h1: true, h2: true,
		s: handlerScript{method: "HEAD", steps: []step{
			{kind: stepDeclareTrailer, name: "X-Trailer-A"},
			{kind: stepWrite, n: 3000, seed: 10},
			{kind: stepSetTrailer, name: "X-Trailer-A", value: "a"},
		}},
	},
	{
		// net/http reads up to 256 KiB of what the handler left unread
		// when it writes the headers, unless the body is its own *body
		// type; behind the Tap it is not.
		name: "ReadRestAfterFlush", h1: true, h2: true,
		s: handlerScript{method: "POST", body: testPattern(1 << 20), steps: []step{
			{kind: stepRead, n: 10, buf: 512},
			{kind: stepWrite, n: 10, seed: 11},
			{kind: stepFlush},
			{kind: stepReadAll, buf: 32 << 10},
			{kind: stepEcho},
		}},
	},
	{
		// A body closed with more than 256 KiB unread makes net/http
		// send "Connection: close" with headers written afterwards.
		name: "CloseBodyEarlyThenFlush", h1: true, h2: true,
		s: handlerScript{method: "POST", body: testPattern(1 << 20), steps: []step{
			{kind: stepRead, n: 10, buf: 512},
			{kind: stepCloseBody},
			{kind: stepWrite, n: 10, seed: 12},
			{kind: stepFlush},
		}},
	},
	{
		// An unread body sent with "Expect: 100-continue": net/http
		// closes the connection instead of asking for the body.
		name: "ExpectContinueUnread", h1: true,
		s: handlerScript{method: "POST", body: testPattern(1000), expect: true, steps: []step{
			{kind: stepWrite, n: 10, seed: 13},
			{kind: stepFlush},
		}},
	},
	{
		name: "EmptyBodyUnread", h1: true, h2: true,
		s: handlerScript{method: "GET", steps: []step{
			{kind: stepWrite, n: 10, seed: 14},
		}},
	},
	{
		// Over HTTP/2 a HEAD response is complete once its headers are
		// flushed; the server then ends the request's context itself.
		name: "HEADFlushedThenWork", h2: true,
		s: handlerScript{method: "HEAD", steps: []step{
			{kind: stepWrite, n: 10, seed: 15},
			{kind: stepFlush},
			{kind: stepAwaitDone},
		}},
	},
}

// TestTransparencyCases plays the hand-written scripts.
func TestTransparencyCases(t *testing.T) {
	servers := map[bool]*diffServer{}
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
				servers[proto.h2] = newDiffServer(t, proto.h2)
			}
			d := servers[proto.h2]
			t.Run(tc.name+"/"+proto.name, func(t *testing.T) {
				s := tc.s
				s.steps = slices.Clone(s.steps)
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
			fw.Write(testPattern(100 << 10))
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
	d := newDiffServer(f, false)
	l := scriptLimits{big: 320 << 10}
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		src := &fuzzSource{b: data, rest: rand.NewPCG(seed, uint64(len(data)))}
		s := genScript(rand.New(src), seed, l)
		s.settle(false)
		playScript(t, d, s)
	})
}
