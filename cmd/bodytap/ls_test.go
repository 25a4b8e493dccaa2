package main

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
)

// TestLsProgress: ls says how far a body search has gone on stderr,
// a line at a time when BODYTAP_PROGRESS=always says so, and nothing
// when stderr is not a terminal; the table on stdout is the same.
func TestLsProgress(t *testing.T) {
	db := filepath.Join(t.TempDir(), "progress.db")
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	var xs []*bodytap.Exchange
	for i := range 300 {
		body := []byte(fmt.Sprintf(`{"n": %d, "word": "hay"}`, i))
		if i%10 == 0 {
			body = []byte(fmt.Sprintf(`{"n": %d, "word": "needle"}`, i))
		}
		start := t0.Add(time.Duration(i) * time.Millisecond)
		xs = append(xs, &bodytap.Exchange{
			ID: bodytap.NewID(start), Start: start,
			Request: bodytap.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "h", Path: fmt.Sprintf("/%d", i)}, Host: "h"},
			Response: bodytap.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: bodytap.Body{Bytes: body, Size: int64(len(body)), EOF: true}},
		})
	}
	s.RecordBatch(xs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	shown := bodytapCmd(t, []string{"BODYTAP_PROGRESS=always"}, "ls", "--db", db, "--limit", "5", "~b", "needle")
	if shown.code != 0 || !strings.Contains(shown.stderr, "searching: 100% (300 of 300 exchanges") {
		t.Errorf("BODYTAP_PROGRESS=always: exit %d, stderr:\n%s", shown.code, shown.stderr)
	}
	if !strings.Contains(shown.stdout, "... 25 more") || strings.Count(shown.stdout, "http://h/") != 5 {
		t.Errorf("the table:\n%s", shown.stdout)
	}
	quiet := bodytapCmd(t, nil, "ls", "--db", db, "--limit", "5", "~b", "needle")
	if quiet.code != 0 || strings.Contains(quiet.stderr, "searching") || quiet.stdout != shown.stdout {
		t.Errorf("stderr not a terminal: exit %d, stderr %q, stdout:\n%s", quiet.code, quiet.stderr, quiet.stdout)
	}
}
