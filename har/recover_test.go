package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileWrites builds a HAR file with a file Writer and returns its
// content after each entry, and where each entry ends.
func fileWrites(t *testing.T, n int) (states [][]byte, ends []int64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "w.har")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	read := func() []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	states = append(states, read())
	for _, x := range exchanges(t, n) {
		w.Record(x)
		data := read()
		states = append(states, data)
		ends = append(ends, int64(len(data)-len(tail)))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return states, ends
}

// reopen writes data to a file, opens it with OpenFile, adds one entry,
// and returns the entries the file then holds.
func reopen(t *testing.T, path string, data []byte) []Entry {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile on %d bytes: %v", len(data), err)
	}
	x := exchange(t)
	x.Route = "after"
	w.Record(x)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l := readFile(t, path)
	if n := len(l.Entries); n == 0 || l.Entries[n-1].Route != "after" {
		t.Fatalf("the entry added after recovery is not last")
	}
	return l.Entries[:len(l.Entries)-1]
}

// offsets returns the offsets to cut a file of size bytes at: all those
// near the marks, and a sample of the rest.
func offsets(size int64, marks ...int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	add := func(k int64) {
		if k >= 0 && k <= size && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, m := range marks {
		for d := int64(-3); d <= 3; d++ {
			add(m + d)
		}
	}
	for k := int64(0); k <= size; k += 29 {
		add(k)
	}
	return out
}

// TestRecoverTruncated cuts a file at many offsets, as a crash or a copy
// cut short would, and checks that OpenFile keeps exactly the entries that
// are whole and leaves a valid HAR file.
func TestRecoverTruncated(t *testing.T) {
	states, ends := fileWrites(t, 3)
	final := states[len(states)-1]
	head := int64(len(states[0]) - len(tail))
	dir := t.TempDir()
	p := filepath.Join(dir, "cut.har")
	var keep []string
	for _, k := range offsets(int64(len(final)), append(ends, head, 0, 1)...) {
		want := 0
		for _, e := range ends {
			if e <= k {
				want++
			}
		}
		got := reopen(t, p, final[:k])
		if len(got) != want {
			t.Fatalf("cut at %d of %d: got %d entries, want %d", k, len(final), len(got), want)
		}
		for i, e := range got {
			if e.Route != fmt.Sprintf("GET /item/%d", i) {
				t.Fatalf("cut at %d: entry %d is %q", k, i, e.Route)
			}
		}
		if len(keep) < 4 && k > head && k < int64(len(final))-10 {
			data, _ := os.ReadFile(p)
			keep = append(keep, writeFile(t, dir, fmt.Sprintf("kept%d.har", k), data))
		}
	}
	validate(t, keep...)
}

// TestRecoverPartialWrite kills a write in the middle: the new entry and
// tail are written over the old tail only in part.
func TestRecoverPartialWrite(t *testing.T) {
	states, ends := fileWrites(t, 3)
	p := filepath.Join(t.TempDir(), "partial.har")
	for i := 1; i < len(states); i++ {
		prev, next := states[i-1], states[i]
		pos := int64(len(prev) - len(tail)) // where the write went
		entryEnd := ends[i-1]
		for _, k := range offsets(int64(len(next))-pos, 0, 1, 2, 3, 4, 5, 6, entryEnd-pos, int64(len(next))-pos) {
			data := append([]byte(nil), next[:pos+k]...)
			if int64(len(prev)) > pos+k {
				data = append(data, prev[pos+k:]...)
			}
			want := i - 1
			if pos+k >= entryEnd {
				want = i
			}
			if got := reopen(t, p, data); len(got) != want {
				t.Fatalf("write %d cut after %d bytes: got %d entries, want %d (file ends %q)", i, k, len(got), want, data[max(0, len(data)-20):])
			}
		}
	}
}

func TestOpenFileRefuses(t *testing.T) {
	cases := map[string]string{
		"text":           "hello, world\n",
		"other json":     `{"a":1}`,
		"no entries":     `{"log":{"version":"1.2"}}`,
		"entries object": `{"log":{"entries":{}}}`,
		"cut foreign":    "{\n  \"log\": {\n    \"version\": \"1.2\",",
		"cut other":      `{"data":[1,2`,
		"array":          `[{"log":{}}]`,
	}
	dir := t.TempDir()
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, dir, "f", []byte(content))
			w, err := OpenFile(p)
			if err == nil {
				w.Close()
				t.Fatal("OpenFile succeeded")
			}
			if !errors.Is(err, errNotHAR) || !strings.HasPrefix(err.Error(), "har: open "+p+": not a HAR file") {
				t.Errorf("got %v", err)
			}
			if data, _ := os.ReadFile(p); string(data) != content {
				t.Errorf("file changed to %q", data)
			}
		})
	}
}

// TestOpenFileForeign adds to a whole HAR file that another tool wrote,
// with fields after its entries: they are kept.
func TestOpenFileForeign(t *testing.T) {
	doc := strings.Replace(browserHAR, `"pages":`, `"_x":{"a":[1]},"pages":`, 1)
	// Move the pages after the entries.
	i := strings.Index(doc, `"pages":`)
	j := strings.Index(doc, `"entries":`)
	pages := doc[i:j]
	doc = doc[:i] + doc[j:len(doc)-len("}}")] + "," + strings.TrimSuffix(strings.TrimSpace(pages), ",") + "}}\n\n"
	if _, err := Read(strings.NewReader(doc)); err != nil {
		t.Fatalf("test document: %v", err)
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "browser.har", []byte(doc))
	got := reopen(t, p, []byte(doc))
	l := readFile(t, p)
	if len(got) != 1 || len(l.Pages) != 1 || l.Creator.Name != "WebInspector" {
		t.Errorf("got %d entries, %d pages, creator %q", len(got), len(l.Pages), l.Creator.Name)
	}

	// An empty entries array.
	p2 := writeFile(t, dir, "empty.har", nil)
	if got := reopen(t, p2, streamed(t)); len(got) != 0 {
		t.Errorf("got %d entries", len(got))
	}
	validate(t, p, p2)
}

// FuzzRecover opens any bytes as a HAR file: OpenFile must either refuse
// and leave the file alone, or leave a document that is valid JSON with
// the added entry last.
func FuzzRecover(f *testing.F) {
	final := streamed(f, exchanges(f, 2)...)
	f.Add(final)
	f.Add(final[:len(final)/2])
	f.Add(final[:40])
	f.Add([]byte(`{"log":{"entries":[1,{}],"x":[]},"y":{}}`))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":1,"request":1,"response":1},{}`))
	f.Add([]byte("{\n \"log\": {\"entries\": [] } }  "))
	f.Add([]byte(browserHAR))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.har")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := OpenFile(p)
		if err != nil {
			if !errors.Is(err, errNotHAR) {
				t.Fatalf("OpenFile: %v", err)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
				t.Fatalf("refused file changed")
			}
			return
		}
		x := exchange(t)
		x.Route = "added"
		w.Record(x)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		var doc struct {
			Log struct {
				Entries []json.RawMessage `json:"entries"`
			} `json:"log"`
		}
		if err := json.Unmarshal(got, &doc); err != nil {
			t.Fatalf("result is not valid JSON: %v\n%q", err, got)
		}
		n := len(doc.Log.Entries)
		if n == 0 || !bytes.Contains(doc.Log.Entries[n-1], []byte(`"_route":"added"`)) {
			t.Fatalf("the added entry is not last:\n%q", got)
		}
	})
}
