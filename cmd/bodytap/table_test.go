package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var longURL = "http://api.example.com/" + strings.Repeat("very-long-segment/", 15) + "end"

// columnStart returns where (in runes) the nth column starts in the
// header line and in line; name is for the failure message.
func columnStart(t *testing.T, header, line, name string, nth int) (int, int) {
	t.Helper()
	fields := func(s string) []int { // rune offsets of each cell, cells split by 2+ spaces
		var starts []int
		r := []rune(s)
		for i := range r {
			if r[i] != ' ' && (i == 0 || (i >= 2 && r[i-1] == ' ' && r[i-2] == ' ')) {
				starts = append(starts, i)
			}
		}
		return starts
	}
	h, l := fields(header), fields(line)
	if nth >= len(h) || nth >= len(l) {
		t.Fatalf("line %q: no column %s", line, name)
	}
	return h[nth], l[nth]
}

func TestLsFitsTheTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ls.db")
	importExchanges(t, db,
		exchange(t, "", "http://api.example.com/short", []byte("ok")),
		exchange(t, "", longURL, []byte("ok")))

	const width = 120
	r := bodytapCmd(t, []string{"COLUMNS=120"}, "ls", "--db", db)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("ls: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > width {
			t.Errorf("a line of %d runes, want at most %d:\n%s", n, width, l)
		}
		h, c := columnStart(t, lines[0], l, "STATUS", 4)
		if h != c {
			t.Errorf("STATUS at %d in the header, %d in\n%s", h, c, l)
		}
	}
	if !strings.Contains(r.stdout, "…") || !strings.Contains(r.stdout, "segment/end") || !strings.Contains(r.stdout, "http://api") {
		t.Errorf("the long URL should be cut in the middle, keeping its start and end:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"--wide"}, {"--json"}} {
		if r := bodytapCmd(t, []string{"COLUMNS=120"}, append([]string{"ls", "--db", db}, args...)...); !strings.Contains(r.stdout, longURL) {
			t.Errorf("ls %s: the whole URL is missing:\n%s", args[0], r.stdout)
		}
	}
	// Not a terminal and no $COLUMNS: whole cells, still aligned.
	r = bodytapCmd(t, nil, "ls", "--db", db)
	if !strings.Contains(r.stdout, longURL) || strings.Contains(r.stdout, "…") {
		t.Errorf("ls into a pipe should not cut:\n%s", r.stdout)
	}
}

func TestLsNoneMatch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	importExchanges(t, db, exchange(t, "", "http://api.example.com/x", nil))
	r := bodytapCmd(t, nil, "ls", "--db", db, "~m", "DELETE")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, `no exchanges match "~m DELETE" in `) {
		t.Errorf("ls with nothing matching: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestTailAligned checks that rows tail prints as they come line up under
// the header like the first ones, and that tail waits for a store that
// is not there yet.
func TestTailAligned(t *testing.T) {
	db := filepath.Join(t.TempDir(), "later.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := exec.CommandContext(ctx, binary, "tail", "--db", db)
	tail.Env = append(cleanEnv(), "COLUMNS=150")
	out, errOut := new(syncBuffer), new(syncBuffer)
	tail.Stdout, tail.Stderr = out, errOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	waitFor(t, errOut, "waiting for", 10*time.Second)

	importExchanges(t, db, exchange(t, "", "http://api.example.com/first", []byte("ok")))
	waitFor(t, out, "/first", 10*time.Second)
	importExchanges(t, db,
		exchange(t, "", longURL, make([]byte, 1500)),
		exchange(t, "", "http://api.example.com/third", []byte("a bit more")))
	waitFor(t, out, "/third", 10*time.Second)

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 rows:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		for i, name := range columns {
			h, c := columnStart(t, lines[0], l, name, i)
			if h != c {
				t.Errorf("%s at %d in the header, %d in\n%s\n%s", name, h, c, lines[0], l)
			}
		}
		if n := utf8.RuneCountInString(l); n > 150 {
			t.Errorf("a row of %d runes, want at most 150", n)
		}
	}
}
