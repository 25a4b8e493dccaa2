package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", ``, "har: the document: input ends too soon"},
		{"not json", `hello`, "har: the document: invalid JSON at byte 1"},
		{"array", `[]`, `har: the document: want "{", found "["`},
		{"no log", `{}`, `har: no "log" object with "entries"`},
		{"log not object", `{"log":[]}`, `har: "log": want "{", found "["`},
		{"no entries", `{"log":{"version":"1.2"}}`, `har: "log" has no "entries"`},
		{"entries not array", `{"log":{"entries":{}}}`, `har: log.entries: want "[", found "{"`},
		{"entries twice", `{"log":{"entries":[],"entries":[]}}`, `har: "log" has "entries" twice`},
		{"bad version", `{"log":{"version":1,"entries":[]}}`, "har: log.version: a JSON number cannot be a string"},
		{"bad entry", `{"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z"},{"time":"slow"}]}}`,
			"har: log.entries[1]: time: a JSON string cannot be a float64"},
		{"bad date", `{"log":{"entries":[{"startedDateTime":"yesterday"}]}}`, "har: log.entries[0]: "},
		{"nested type", `{"log":{"entries":[{"request":{"headers":[{"name":1}]}}]}}`, "har: log.entries[0]: request.headers.name: a JSON number"},
		{"cut in entry", `{"log":{"entries":[{"time":1},{"ti`, "har: log.entries[1]: input ends too soon"},
		{"cut after entries", `{"log":{"entries":[]`, `har: "log": input ends too soon`},
		{"cut before end", `{"log":{"entries":[]}`, `har: the document: input ends too soon`},
		{"bad syntax in entries", `{"log":{"entries":[{"time":1}}}`, "har: log.entries: invalid JSON"},
		{"trailing data", `{"log":{"entries":[]}} {}`, "har: data after the end of the document"},
		{"key not string", `{"log":{"entries":[]}, 1}`, "har: the document: invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Read(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("got %+v, want an error", l)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %q, want %q...", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

func TestReadExtras(t *testing.T) {
	in := `{"x":[1,{"a":2}],"log":{"_custom":{"deep":[1]},"version":"1.2","creator":{"name":"n","version":"v"},
		"entries":[],"comment":"after","browser":{"name":"b","version":"1"}},"log":{"entries":[{"time":1}]}}`
	l, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if l.Comment != "after" || l.Browser == nil || l.Browser.Name != "b" || len(l.Entries) != 0 || l.Entries == nil {
		t.Errorf("got %+v", l)
	}
}

func TestDecoder(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	const n = 50
	for i := range n {
		x := exchange(t)
		x.Route = strings.Repeat("r", i)
		w.Record(x)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&buf)
	if l := d.Log(); l.Version != "" {
		t.Errorf("Log before decoding: %+v", l)
	}
	for i := range n {
		var e Entry
		if err := d.Decode(&e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if i == 0 {
			if l := d.Log(); l.Version != Version || l.Creator.Name != "bodytap" || l.Entries != nil {
				t.Errorf("Log: %+v", l)
			}
		}
		if len(e.Route) != i {
			t.Fatalf("entry %d: route %q", i, e.Route)
		}
	}
	var e Entry
	for range 2 {
		if err := d.Decode(&e); err != io.EOF {
			t.Fatalf("after the entries: got %v, want io.EOF", err)
		}
	}
}

// TestDecoderBoundedMemory checks that the Decoder does not read a file
// whole: it hands over the first entry while the rest has not arrived.
func TestDecoderBoundedMemory(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewWriter(pw)
	go func() {
		w.WriteEntry(FromExchange(exchange(t)))
		// Never closed: the Decoder must not need more.
	}()
	d := NewDecoder(pr)
	var e Entry
	if err := d.Decode(&e); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(errors.New("gone"))
	if err := d.Decode(&e); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("got %v, want the pipe's error", err)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Record(exchange(f))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte(browserHAR))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"url":"/"}}]}}`))
	f.Add([]byte(`{"log":{"entries":[{}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			return
		}
		for _, e := range l.Entries {
			x, err := ToExchange(e)
			if err != nil {
				continue
			}
			// What imports exports again.
			e2 := FromExchange(x)
			if _, err := json.Marshal(e2); err != nil {
				t.Errorf("marshal: %v", err)
			}
		}
	})
}
