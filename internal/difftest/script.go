// Package difftest holds what the differential tests of bodytap, proxy and
// rewrite share: random handler scripts and their generator, the handler
// that plays a script and notes what it saw, a server that plays them, and
// the client side of a run. Each test plays a script twice, with and
// without what it tests, and compares the two.
//
// Only tests import it.
package difftest

import (
	"bytes"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

var (
	// SeedFlag is -diff.seed, the first seed of the random scripts a test plays.
	SeedFlag = flag.Uint64("diff.seed", 1, "first seed of the random scripts the differential tests play")
	nFlag    = flag.Int("diff.n", 0, "random scripts per protocol in the differential tests (0: the default for the mode)")
)

// Count is how many random scripts a test plays over each protocol: -diff.n
// if set, else short under -short, race under the race detector, full
// otherwise.
func Count(full, race, short int) int {
	switch {
	case *nFlag > 0:
		return *nFlag
	case testing.Short():
		return short
	case testutil.RaceEnabled:
		return race
	}
	return full
}

// Seeds returns the seeds of the random scripts a test plays over one
// protocol: Count(full, race, short) of them from -diff.seed on.
func Seeds(full, race, short int) []uint64 {
	n := Count(full, race, short)
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = *SeedFlag + uint64(i)
	}
	return seeds
}

// A StepKind is one thing a script's handler does.
type StepKind uint8

const (
	SetHeader      StepKind = iota // w.Header().Set(name, value)
	AddHeader                      // w.Header().Add(name, value)
	DelHeader                      // w.Header().Del(name)
	Suppress                       // w.Header()[name] = nil: the server adds no Date or Content-Type
	ContentLength                  // w.Header().Set("Content-Length", n)
	DeclareTrailer                 // w.Header().Add("Trailer", name)
	SetTrailer                     // w.Header().Set(name, value) for a declared trailer
	PrefixTrailer                  // w.Header().Set(http.TrailerPrefix+name, value)
	WriteHeader                    // w.WriteHeader(code)
	Write                          // w.Write(data)
	WriteString                    // io.WriteString(w, data)
	Copy                           // io.Copy from a reader that is neither a file nor a WriterTo
	CopyFile                       // io.Copy from an *os.File
	ReadFromFile                   // w.(io.ReaderFrom).ReadFrom(*os.File)
	CopyNFile                      // io.CopyN from an *os.File, as http.ServeContent does
	Flush                          // w.(http.Flusher).Flush()
	FlushRC                        // http.NewResponseController(w).Flush()
	Read                           // read up to n bytes of the request body
	ReadAll                        // read the request body to its end
	CloseBody                      // r.Body.Close()
	Echo                           // write a summary of the request body read so far
	Abort                          // panic(http.ErrAbortHandler)
	AwaitDone                      // wait for the request's context to end (hand-written scripts only)
)

var stepNames = [...]string{
	SetHeader:      "Set",
	AddHeader:      "Add",
	DelHeader:      "Del",
	Suppress:       "Suppress",
	ContentLength:  "ContentLength",
	DeclareTrailer: "DeclareTrailer",
	SetTrailer:     "SetTrailer",
	PrefixTrailer:  "PrefixTrailer",
	WriteHeader:    "WriteHeader",
	Write:          "Write",
	WriteString:    "WriteString",
	Copy:           "Copy",
	CopyFile:       "CopyFile",
	ReadFromFile:   "ReadFromFile",
	CopyNFile:      "CopyNFile",
	Flush:          "Flush",
	FlushRC:        "FlushRC",
	Read:           "Read",
	ReadAll:        "ReadAll",
	CloseBody:      "CloseBody",
	Echo:           "Echo",
	Abort:          "Abort",
	AwaitDone:      "AwaitDone",
}

// writes reports whether the step writes body bytes it knows in advance.
func (k StepKind) writes() bool { return k >= Write && k <= CopyNFile }

// usesFile reports whether the step reads its data from a file.
func (k StepKind) usesFile() bool { return k >= CopyFile && k <= CopyNFile }

type Step struct {
	Kind  StepKind
	Name  string // header or trailer name
	Value string // header or trailer value
	Code  int    // status for WriteHeader
	N     int    // bytes to write or read, or the Content-Length
	Buf   int    // read buffer size
	Seed  uint64 // content seed for writes
	Text  bool   // write text (sniffed as text/plain) rather than binary

	data []byte // content, filled in by prepare
	str  string // data as a string, for WriteString
	file string // path of a file holding data
}

func (st Step) String() string {
	s := stepNames[st.Kind]
	switch st.Kind {
	case SetHeader, AddHeader, SetTrailer, PrefixTrailer:
		return fmt.Sprintf("%s %s: %q", s, st.Name, st.Value)
	case DelHeader, Suppress, DeclareTrailer:
		return s + " " + st.Name
	case ContentLength:
		return fmt.Sprintf("%s %d", s, st.N)
	case WriteHeader:
		return fmt.Sprintf("%s %d", s, st.Code)
	case Read:
		return fmt.Sprintf("%s %d (buf %d)", s, st.N, st.Buf)
	case ReadAll:
		return fmt.Sprintf("%s (buf %d)", s, st.Buf)
	}
	if st.Kind.writes() {
		kind := "binary"
		if st.Text {
			kind = "text"
		}
		return fmt.Sprintf("%s %d bytes (%s, seed %d)", s, st.N, kind, st.Seed)
	}
	return s
}

// A Script is a handler's behaviour and the request that drives it.
type Script struct {
	Seed    uint64
	Method  string
	Body    []byte // request body; nil: none
	Chunked bool   // send the body without a Content-Length
	Expect  bool   // send "Expect: 100-continue"
	Early   bool   // the response may be complete before the handler returns (see settle)
	Max     int64  // Config.MaxBodyBytes
	Steps   []Step
}

func (s *Script) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s", s.Seed, s.Method)
	if s.Body != nil {
		fmt.Fprintf(&b, " with a %d-byte body", len(s.Body))
		if s.Chunked {
			b.WriteString(" (no Content-Length)")
		}
		if s.Expect {
			b.WriteString(" (Expect: 100-continue)")
		}
	}
	fmt.Fprintf(&b, ", MaxBodyBytes %d\n", s.Max)
	for i, o := range s.Steps {
		fmt.Fprintf(&b, "%3d  %v\n", i, o)
	}
	return b.String()
}

// aborts reports whether the script panics with http.ErrAbortHandler.
func (s *Script) Aborts() bool {
	return slices.ContainsFunc(s.Steps, func(st Step) bool { return st.Kind == Abort })
}

// Options shape the scripts Gen writes.
type Options struct {
	Big int // the largest body: several MiB normally, less under -race

	// Upstream keeps to what an upstream behind a proxy does: headers
	// (Suppress among them), 1xx, reads of the request body before the
	// response starts, a status, writes and flushes, trailers. No aborts,
	// no Close or reads of the request body once the response may have
	// started, no echo, no shuffled order: through a proxy those give
	// different, and correct, behaviour (an abort before the headers is a
	// 502 there).
	Upstream bool
}

// DefaultOptions returns the Options for a handler behind a middleware,
// scaled down under the race detector.
func DefaultOptions() Options {
	if testutil.RaceEnabled {
		return Options{Big: 640 << 10}
	}
	return Options{Big: 4 << 20}
}

// size picks a body size: mostly small, sometimes past the 256 KiB that
// net/http reads on a handler's behalf, rarely a few MiB. Empty writes
// are common on purpose: net/http sends the headers on an empty Write but
// not on an empty ReadFrom.
func (l Options) size(r *rand.Rand) int {
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
		return 70<<10 + r.IntN(min(l.Big, 600<<10)-70<<10)
	}
	return l.Big/2 + r.IntN(l.Big/2)
}

func (l Options) bodySize(r *rand.Rand) int {
	switch p := r.IntN(100); {
	case p < 30:
		return 0
	case p < 60:
		return 1 + r.IntN(1<<10)
	case p < 78:
		return 1<<10 + r.IntN(64<<10)
	case p < 95:
		return 64<<10 + r.IntN(min(l.Big, 700<<10)-64<<10)
	}
	return l.Big/2 + r.IntN(l.Big/2)
}

var (
	diffCaps         = []int64{0, 1, 100, 4096, 1 << 20, -1}
	diffHeaderNames  = []string{"X-Alpha", "X-Beta", "X-Multi", "Cache-Control", "Content-Type", "Vary", "Set-Cookie", "ETag", "x-lower"}
	diffHeaderValues = []string{"", "a", "no-store", "text/plain; charset=utf-8", "application/json", "text/html", "id=1; Path=/", "Accept-Encoding", "x y z", "x  y"}
	diffTrailerNames = []string{"X-Trailer-A", "X-Trailer-B", "Grpc-Status"}
	diffPrefixNames  = []string{"X-Late-A", "X-Late-B"}
	diffFinalCodes   = []int{200, 200, 201, 202, 204, 206, 304, 400, 404, 418, 500, 503}
	diffInfoCodes    = []int{103, 103, 103, 102, 100, 150, 199}
	// diffEdgeSizes sit on net/http's thresholds (512 bytes sniffed before
	// ReadFrom sends the headers, a 2 KiB buffer before chunking) and on
	// the Tap's default cap.
	diffEdgeSizes    = []int{511, 512, 513, 550, 1023, 2047, 2048, 2049, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1}
	diffReadBufSizes = []int{1, 7, 512, 4 << 10, 32 << 10}
	EarlyHintLinks   = []string{"</style.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"}
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

func genHeaderStep(r *rand.Rand) Step {
	st := Step{Name: pickOne(r, diffHeaderNames)}
	if r.IntN(2) == 0 {
		st.Value = pickOne(r, diffHeaderValues)
	} else {
		st.Value = randToken(r)
	}
	switch p := r.IntN(10); {
	case p < 6:
		st.Kind = SetHeader
	case p < 9:
		st.Kind = AddHeader
	default:
		st.Kind = DelHeader
	}
	return st
}

func genWriteStep(r *rand.Rand, l Options) Step {
	kinds := []StepKind{Write, Write, Write, WriteString, WriteString, Copy, Copy, CopyFile, ReadFromFile, CopyNFile}
	return Step{Kind: pickOne(r, kinds), N: l.size(r), Seed: r.Uint64(), Text: r.IntN(3) == 0}
}

func genReadStep(r *rand.Rand, s *Script, l Options) Step {
	st := Step{Buf: pickOne(r, diffReadBufSizes)}
	if len(s.Body) > 4<<10 {
		// Byte-sized reads of a large body cost seconds over HTTP/2.
		st.Buf = max(st.Buf, 512)
	}
	switch p := r.IntN(10); {
	case p < 4:
		st.Kind = ReadAll
	case p < 7:
		st.Kind, st.N = Read, r.IntN(len(s.Body)+2)
	default:
		st.Kind, st.N = Read, l.size(r)
	}
	return st
}

// Gen writes a random script. Most scripts follow the usual order
// of a handler (headers, 1xx, request body, status, body, trailers); some
// are shuffled a little to reach orders nobody would write on purpose.
func Gen(r *rand.Rand, seed uint64, l Options) *Script {
	s := &Script{Seed: seed, Max: pickOne(r, diffCaps)}
	switch p := r.IntN(100); {
	case p < 15:
		s.Method = "GET"
	case p < 25:
		s.Method = "HEAD"
	case p < 85:
		s.Method = "POST"
	default:
		s.Method = "PUT"
	}
	if s.Method == "POST" || s.Method == "PUT" {
		s.Body = make([]byte, l.bodySize(r))
		rand.NewChaCha8(seedBytes(r.Uint64())).Read(s.Body)
		s.Chunked = r.IntN(10) < 3
	}

	var steps []Step
	add := func(st Step) { steps = append(steps, st) }
	for range r.IntN(4) {
		add(genHeaderStep(r))
	}
	if l.Upstream && r.IntN(5) == 0 {
		add(Step{Kind: Suppress, Name: pickOne(r, []string{"Date", "Content-Type"})})
	}
	var declared []string
	if r.IntN(4) == 0 {
		// Distinct names: a trailer declared twice goes out twice over
		// HTTP/1.1 and once over HTTP/2.
		for _, name := range diffTrailerNames[:1+r.IntN(len(diffTrailerNames))] {
			if r.IntN(2) == 0 {
				declared = append(declared, name)
				add(Step{Kind: DeclareTrailer, Name: name})
			}
		}
	}
	for range []int{0, 0, 0, 0, 0, 1, 1, 1, 2, 3}[r.IntN(10)] {
		if r.IntN(10) < 7 {
			add(Step{Kind: AddHeader, Name: "Link", Value: pickOne(r, EarlyHintLinks)})
		}
		add(Step{Kind: WriteHeader, Code: pickOne(r, diffInfoCodes)})
	}
	if s.Body != nil || r.IntN(4) == 0 {
		for range r.IntN(3) {
			add(genReadStep(r, s, l))
		}
		if !l.Upstream && r.IntN(6) == 0 {
			add(Step{Kind: CloseBody})
		}
	}
	if r.IntN(10) < 6 {
		add(Step{Kind: WriteHeader, Code: pickOne(r, diffFinalCodes)})
		if r.IntN(7) == 0 {
			add(Step{Kind: WriteHeader, Code: pickOne(r, diffFinalCodes)})
		}
	}
	for range r.IntN(6) {
		add(genWriteStep(r, l))
		switch p := r.IntN(20); {
		case p < 4:
			add(Step{Kind: Flush})
		case p < 6:
			add(Step{Kind: FlushRC})
		case p < 8:
			add(genHeaderStep(r))
		case l.Upstream && p < 12:
			// No reads, Close or echo once the response may have started.
		case p < 10:
			add(genReadStep(r, s, l))
		case p < 11:
			add(Step{Kind: CloseBody})
		case p < 12:
			add(Step{Kind: Echo})
		case p < 13:
			add(Step{Kind: WriteHeader, Code: pickOne(r, diffFinalCodes)})
		}
	}
	for _, name := range declared {
		if r.IntN(8) > 0 {
			add(Step{Kind: SetTrailer, Name: name, Value: randToken(r)})
		}
	}
	if r.IntN(6) == 0 {
		for range 1 + r.IntN(2) {
			add(Step{Kind: PrefixTrailer, Name: pickOne(r, diffPrefixNames), Value: randToken(r)})
		}
	}
	if !l.Upstream && r.IntN(8) == 0 {
		add(Step{Kind: Echo})
	}

	// A Content-Length that matches what the script writes, as a handler
	// serving a file sets it; it also lets net/http use sendfile.
	if r.IntN(5) == 0 && !slices.ContainsFunc(steps, func(st Step) bool { return st.Kind == Echo }) {
		total := 0
		first := len(steps)
		for i, o := range steps {
			if o.Kind.writes() {
				total += o.N
				first = min(first, i)
			}
		}
		at := r.IntN(first + 1)
		if r.IntN(5) == 0 {
			at = r.IntN(len(steps) + 1)
		}
		steps = slices.Insert(steps, at, Step{Kind: ContentLength, N: total})
	}
	if l.Upstream {
		s.Steps = steps
		return s
	}
	if r.IntN(100) < 12 {
		steps = slices.Insert(steps, r.IntN(len(steps)+1), Step{Kind: Abort})
	}
	if len(steps) > 1 && r.IntN(5) == 0 {
		for range 1 + r.IntN(3) {
			i, j := r.IntN(len(steps)), r.IntN(len(steps))
			steps[i], steps[j] = steps[j], steps[i]
		}
	}
	s.Steps = steps
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
// It notes in s.Early that the response may be complete before the handler
// returns, when the server or the client may end the request's context.
func (s *Script) Settle(h2 bool) {
	status, cl, written, out := 0, -1, 0, false
	s.Steps = slices.DeleteFunc(s.Steps, func(st Step) bool {
		switch {
		case st.Kind == FlushRC && h2 && s.Early:
			return true
		case st.Kind == WriteHeader && status == 0 && st.Code >= 200:
			status = st.Code
		case st.Kind == ContentLength && status == 0:
			cl = st.N
		case st.Kind.writes() || st.Kind == Flush || st.Kind == FlushRC || st.Kind == Echo:
			if status == 0 {
				status = http.StatusOK
			}
			written += st.N
			out = true
		case st.Kind == Read || st.Kind == ReadAll:
			return s.Early || h2 && out && status > 299
		case st.Kind == CloseBody:
			return s.Early
		}
		s.Early = s.Early || !h2 && cl >= 0 && written >= cl ||
			out && (s.Method == "HEAD" || !h2 && (status == http.StatusNoContent || status == http.StatusNotModified))
		return false
	})
}

func seedBytes(v uint64) [32]byte {
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
func (s *Script) Prepare(tb testing.TB, dir string) {
	tb.Helper()
	for i := range s.Steps {
		st := &s.Steps[i]
		if !st.Kind.writes() || st.data != nil {
			continue
		}
		st.data = make([]byte, st.N)
		rand.NewChaCha8(seedBytes(st.Seed)).Read(st.data)
		if st.Text {
			for j, c := range st.data {
				st.data[j] = 'a' + c%26
				if c%16 == 0 {
					st.data[j] = ' '
				}
			}
		}
		st.str = string(st.data)
		if st.Kind.usesFile() {
			st.file = filepath.Join(dir, fmt.Sprintf("step%d", i))
			if err := os.WriteFile(st.file, st.data, 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// Obs is what a script's handler saw in one run.
type Obs struct {
	Header        http.Header // r.Header
	ContentLength int64       // r.ContentLength
	NoBody        bool        // r.Body was nil or http.NoBody
	Read          []byte
	ReadEOF       bool     // a Read returned io.EOF
	ReadErr       string   // the last Read error other than io.EOF
	Wrote         []byte   // the body bytes the writer accepted
	WriteFailed   bool     // a write or flush returned an error
	Results       []string // n and failure of each write
	Errs          []string // the errors of each write, for messages
	Aborted       bool
	done          chan struct{} // closed when the handler has returned
}

func newObs() *Obs { return &Obs{done: make(chan struct{})} }

func (o *Obs) note(i int, n int64, err error) {
	// Error texts can differ between two runs without the Tap (HTTP/2
	// reports a closed stream in more than one way): compare whether.
	o.Results = append(o.Results, fmt.Sprintf("step %d: n=%d failed=%t", i, n, err != nil))
	o.Errs = append(o.Errs, fmt.Sprintf("step %d: %v", i, err))
	if err != nil {
		o.WriteFailed = true
	}
}

func (o *Obs) readBody(body io.Reader, n, bufSize int) {
	buf := make([]byte, bufSize)
	for got, zero := 0, 0; (n < 0 || got < n) && zero < 100; {
		p := buf
		if n >= 0 && n-got < len(p) {
			p = p[:n-got]
		}
		m, err := body.Read(p)
		o.Read = append(o.Read, p[:m]...)
		got += m
		if m == 0 {
			zero++
		}
		if err == io.EOF {
			o.ReadEOF = true
		} else if err != nil {
			o.ReadErr = err.Error()
		}
		if err != nil {
			return
		}
	}
}

// OnlyReader hides every method but Read, so that io.Copy has to use the
// writer's ReadFrom (or Write) instead of the source's WriteTo.
type OnlyReader struct{ io.Reader }

// handler returns the handler that plays s, noting what it sees in o.
func (s *Script) Handler(o *Obs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(o.done)
		o.Header = r.Header.Clone()
		o.ContentLength = r.ContentLength
		o.NoBody = r.Body == nil || r.Body == http.NoBody
		for i := range s.Steps {
			s.Steps[i].play(i, w, r, o)
		}
	})
}

func (st *Step) play(i int, w http.ResponseWriter, r *http.Request, o *Obs) {
	h := w.Header()
	switch st.Kind {
	case SetHeader, SetTrailer:
		h.Set(st.Name, st.Value)
	case AddHeader:
		h.Add(st.Name, st.Value)
	case Suppress:
		h[st.Name] = nil
	case DelHeader:
		h.Del(st.Name)
	case ContentLength:
		h.Set("Content-Length", strconv.Itoa(st.N))
	case DeclareTrailer:
		h.Add("Trailer", st.Name)
	case PrefixTrailer:
		h.Set(http.TrailerPrefix+st.Name, st.Value)
	case WriteHeader:
		w.WriteHeader(st.Code)
	case Write:
		n, err := w.Write(st.data)
		o.Wrote = append(o.Wrote, st.data[:n]...)
		o.note(i, int64(n), err)
	case WriteString:
		n, err := io.WriteString(w, st.str)
		o.Wrote = append(o.Wrote, st.data[:n]...)
		o.note(i, int64(n), err)
	case Copy, CopyFile, ReadFromFile, CopyNFile:
		var src io.Reader
		if st.Kind == Copy {
			src = OnlyReader{bytes.NewReader(st.data)}
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
		case st.Kind == ReadFromFile && ok:
			n, err = rf.ReadFrom(src)
		case st.Kind == CopyNFile:
			n, err = io.CopyN(w, src, int64(len(st.data)))
		default:
			n, err = io.Copy(w, src)
		}
		o.Wrote = append(o.Wrote, st.data[:n]...)
		o.note(i, n, err)
	case Flush:
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	case FlushRC:
		o.note(i, 0, http.NewResponseController(w).Flush())
	case Read:
		o.readBody(r.Body, st.N, st.Buf)
	case ReadAll:
		o.readBody(r.Body, -1, st.Buf)
	case CloseBody:
		if err := r.Body.Close(); err != nil {
			o.ReadErr = err.Error()
		}
	case Echo:
		// Not whether it saw EOF: see eofRace in compareScriptRuns.
		line := fmt.Sprintf("read=%d crc=%08x err=%q\n", len(o.Read), crc32.ChecksumIEEE(o.Read), o.ReadErr)
		n, err := io.WriteString(w, line)
		o.Wrote = append(o.Wrote, line[:n]...)
		o.note(i, int64(n), err)
	case Abort:
		o.Aborted = true
		panic(http.ErrAbortHandler)
	case AwaitDone:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// A Server is a real server that plays scripts: each request names,

// Pattern returns n bytes of reproducible content.
func Pattern(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedBytes(uint64(n))).Read(b)
	return b
}
