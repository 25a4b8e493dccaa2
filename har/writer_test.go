package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
)

// streamed returns what a stream Writer writes for xs.
func streamed(tb testing.TB, xs ...*bodytap.Exchange) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, x := range xs {
		w.Record(x)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// readFile reads the HAR file at path, failing the test if it is not one.
func readFile(tb testing.TB, path string) *Log {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	l, err := Read(f)
	if err != nil {
		tb.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return l
}

// exchanges returns n distinct exchanges.
func exchanges(tb testing.TB, n int) []*bodytap.Exchange {
	tb.Helper()
	xs := make([]*bodytap.Exchange, n)
	for i := range xs {
		x := exchange(tb)
		x.ID = bodytap.NewID(t0)
		x.Route = fmt.Sprintf("GET /item/%d", i)
		xs[i] = x
	}
	return xs
}

// writes records each Write it gets.
type writes struct{ calls [][]byte }

func (w *writes) Write(p []byte) (int, error) {
	w.calls = append(w.calls, bytes.Clone(p))
	return len(p), nil
}

func TestStreamWriter(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		data := streamed(t)
		if !strings.HasPrefix(string(data), `{"log":{"version":"1.2","creator":{"name":"bodytap","version":"`) ||
			!strings.HasSuffix(string(data), `"entries":[`+tail) {
			t.Errorf("got %s", data)
		}
		if l, err := Read(bytes.NewReader(data)); err != nil || len(l.Entries) != 0 {
			t.Errorf("got %v, %v", l, err)
		}
	})
	t.Run("entries", func(t *testing.T) {
		xs := exchanges(t, 3)
		var out writes
		w := NewWriter(&out)
		for _, x := range xs {
			w.Record(x)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// One write per entry, the head going with the first; one for the end.
		if len(out.calls) != 4 || string(out.calls[3]) != tail {
			t.Fatalf("got %d writes: %q", len(out.calls), out.calls)
		}
		for i, c := range out.calls[:3] {
			if !bytes.HasSuffix(c, []byte("}")) || bytes.Count(c, []byte("\n")) != 1 {
				t.Errorf("write %d is not one entry on its line: %.80q", i, c)
			}
		}
		l, err := Read(bytes.NewReader(bytes.Join(out.calls, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Entries) != 3 {
			t.Fatalf("got %d entries", len(l.Entries))
		}
		for i, e := range l.Entries {
			x, err := ToExchange(e)
			if err != nil {
				t.Fatal(err)
			}
			exchangetest.Same(t, x, xs[i])
		}
	})
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(&failWriter{n: 1})
	if err := w.WriteEntry(FromExchange(exchange(t))); err != nil {
		t.Fatal(err)
	}
	err := w.WriteEntry(FromExchange(exchange(t)))
	if err == nil || err.Error() != "har: write: disk full" {
		t.Errorf("WriteEntry: got %v", err)
	}
	w.Record(exchange(t))
	if w.Err() != err {
		t.Errorf("Err: got %v, want %v", w.Err(), err)
	}
	if got := w.Close(); got != err {
		t.Errorf("Close: got %v, want %v", got, err)
	}
	if got := w.Close(); got != ErrClosed {
		t.Errorf("second Close: got %v, want ErrClosed", got)
	}
	if got := w.WriteEntry(Entry{}); got != ErrClosed {
		t.Errorf("WriteEntry after Close: got %v, want ErrClosed", got)
	}
	if got := w.Sync(); got != ErrClosed {
		t.Errorf("Sync after Close: got %v, want ErrClosed", got)
	}
}

func TestWriteEntryEncodeError(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	e := FromExchange(exchange(t))
	bad := e
	bad.Time = math.NaN()
	if err := w.WriteEntry(bad); err == nil {
		t.Fatal("NaN time encoded")
	}
	if err := w.WriteEntry(e); err != nil {
		t.Fatalf("after an encoding error: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err := Read(&buf); err != nil || len(l.Entries) != 1 {
		t.Errorf("got %v, %v", l, err)
	}
}

func TestFileWriter(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.har")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, p).Entries); n != 0 {
		t.Errorf("new file has %d entries", n)
	}
	xs := exchanges(t, 5)
	var snapshots []string
	for i, x := range xs {
		w.Record(x)
		// The file is a whole document after every entry, with no Sync.
		l := readFile(t, p)
		if len(l.Entries) != i+1 || l.Entries[i].Route != x.Route {
			t.Fatalf("after entry %d the file has %d entries", i, len(l.Entries))
		}
		if i == 0 || i == 3 {
			data, _ := os.ReadFile(p)
			snapshots = append(snapshots, writeFile(t, dir, fmt.Sprintf("snap%d.har", i), data))
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("file mode: %v, %v", fi.Mode(), err)
	}

	// OpenFile goes on after the last entry; Create starts afresh.
	w, err = OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	more := exchanges(t, 2)
	for _, x := range more {
		w.Record(x)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l := readFile(t, p)
	all := append(xs, more...)
	if len(l.Entries) != len(all) {
		t.Fatalf("got %d entries, want %d", len(l.Entries), len(all))
	}
	for i, e := range l.Entries {
		if e.ID != all[i].ID.String() {
			t.Errorf("entry %d: got ID %s, want %s", i, e.ID, all[i].ID)
		}
	}
	validate(t, append(snapshots, p)...)
}

func TestCreateTruncates(t *testing.T) {
	p := writeFile(t, t.TempDir(), "old.har", streamed(t, exchanges(t, 2)...))
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, p).Entries); n != 0 {
		t.Errorf("Create kept %d entries", n)
	}
}

func TestRecordConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.har")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for range 4 {
		go func() {
			for _, x := range exchanges(t, 25) {
				w.Record(x)
			}
			w.Sync()
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, p).Entries); n != 100 {
		t.Errorf("got %d entries, want 100", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	x := exchange(b)
	x.Response.Body = body(bytes.Repeat([]byte(`{"id":1,"name":"widget"},`), 400))
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.WriteEntry(FromExchange(x))
	}
}

func BenchmarkDecode(b *testing.B) {
	data := streamed(b, exchanges(b, 100)...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data))
		var e Entry
		for d.Decode(&e) == nil {
		}
	}
}
