package decode

import (
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/bodytap/bodytap/internal/testutil"
)

// bombSize is how far a bomb expands: 1 GiB, or 32 MiB under the race
// detector, which makes compressing it ten times slower or worse. (The bomb
// tests run in one goroutine: the race detector has nothing to find there.)
func bombSize() int64 {
	if raceEnabled {
		return 32 << 20
	}
	return 1 << 30
}

var (
	bombsMu sync.Mutex
	bombs   = map[string][]byte{}
)

// bomb returns a body that decodes to bombSize zero bytes under coding, made
// by streaming the zeros through the compressor: the test never holds them.
// "gzip, gzip" is a bomb in a bomb: a few kilobytes that expand to a
// megabyte-sized gzip body, which expands in turn.
func bomb(tb testing.TB, coding string) []byte {
	tb.Helper()
	bombsMu.Lock()
	defer bombsMu.Unlock()
	if b, ok := bombs[coding]; ok {
		return b
	}
	if coding == "gzip, gzip" {
		inner := bombs["gzip"]
		if inner == nil {
			bombsMu.Unlock()
			inner = bomb(tb, "gzip")
			bombsMu.Lock()
		}
		b := encode(tb, "gzip", inner)
		bombs[coding] = b
		return b
	}
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	case "br":
		// The largest window brotli allows, to cost the decoder the most.
		w = brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: 1, LGWin: 24})
	case "zstd":
		// The largest window Decode accepts, to cost the decoder the most.
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(zstdMaxWindow), zstd.WithEncoderConcurrency(1))
		if err != nil {
			tb.Fatal(err)
		}
		w = zw
	default:
		tb.Fatalf("no bomb for %q", coding)
	}
	if _, err := io.CopyN(w, testutil.Zeros{}, bombSize()); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	bombs[coding] = buf.Bytes()
	return buf.Bytes()
}

var bombCodings = []string{"gzip", "br", "zstd", "gzip, gzip"}

// TestDecodeBomb decodes bodies that expand to a gibibyte and checks that
// the output stops at the limit and costs memory on the order of the limit:
// at most three times the limit (the output buffer doubling up to it) plus
// the fixed state of the decoders.
func TestDecodeBomb(t *testing.T) {
	const limit = 1 << 20
	// overhead is each decoder's own state, which depends on the window
	// the stream asks for and not on how far it expands. The bombs ask for
	// the largest windows Decode accepts: brotli's ring buffer doubles its
	// way up to the 16 MiB window (about 32 MiB allocated in all), and zstd
	// keeps its 8 MiB window plus a block.
	overhead := map[string]uint64{
		"gzip":       256 << 10,
		"gzip, gzip": 512 << 10,
		"br":         33 << 20,
		"zstd":       10 << 20,
	}
	for _, coding := range bombCodings {
		t.Run(coding, func(t *testing.T) {
			body := bomb(t, coding)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			res, err := Decode(coding, body, limit, false)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Bytes) != limit || !res.Cut || res.Partial {
				t.Fatalf("got %d bytes, Cut %v, Partial %v, want %d, true, false", len(res.Bytes), res.Cut, res.Partial, limit)
			}
			if i := bytes.IndexFunc(res.Bytes, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Fatalf("got a non-zero byte at %d", i)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte body expanding to %d bytes: %d bytes allocated, %v", len(body), bombSize(), alloc, elapsed)
			if max := 3*limit + overhead[coding]; alloc > max {
				t.Errorf("allocated %d bytes, want at most %d", alloc, max)
			}
			// Decoding the whole bomb takes seconds; the limit, milliseconds.
			if max := 2 * time.Second; !raceEnabled && elapsed > max {
				t.Errorf("took %v, want at most %v", elapsed, max)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestDecodeBombStopsReading checks that the input is read only as far as
// the limited output needs, not to the bomb's end.
func TestDecodeBombStopsReading(t *testing.T) {
	const limit = 1 << 20
	for _, coding := range bombCodings {
		t.Run(coding, func(t *testing.T) {
			body := bomb(t, coding)
			src := &countingReader{r: bytes.NewReader(body)}
			codings, err := decoder.Parse(coding)
			if err != nil {
				t.Fatal(err)
			}
			out, cut, err := decoder.Run(codings, src, limit, limit)
			if err != nil || !cut || len(out) != limit {
				t.Fatalf("got %d bytes, cut %v, %v, want %d, true, nil", len(out), cut, err, limit)
			}
			// Twice the input's share of the output, and the decoders' read
			// buffers (brotli reads 32 KiB at a time).
			share := int(int64(len(body)) * limit / bombSize())
			if max := 2*share + 64<<10; src.n > max {
				t.Errorf("read %d of %d input bytes, want at most %d", src.n, len(body), max)
			}
			t.Logf("read %d of %d input bytes", src.n, len(body))
		})
	}
}
