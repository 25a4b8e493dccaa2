package main

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/pgtest"
)

// TestPostgresEndToEnd runs the proxy into a PostgreSQL store and reads
// it back with ls, show and export.
func TestPostgresEndToEnd(t *testing.T) {
	db := pgtest.DB(t)
	up := upstream(t)
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	c := &http.Client{}
	for _, body := range []string{`{"a":1}`, `{"b":2}`} {
		resp, err := c.Post(p.url+"/echo", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(t, c, p.url+"/json")
	p.stop(t)

	posts := lsJSON(t, "--db", db, "~m POST")
	if len(posts) != 2 {
		t.Fatalf("ls --db %s '~m POST': got %d exchanges, want 2", db, len(posts))
	}
	if table := ok(t, "ls", "--db", db); strings.Count(table, "/echo") != 2 || !strings.Contains(table, "/json") {
		t.Errorf("ls --db %s: got\n%s\nwant two /echo rows and a /json row", db, table)
	}
	id := posts[0].ID.String()
	out := ok(t, "show", "--db", db, id)
	if !strings.Contains(out, "/echo HTTP/1.1") || !strings.Contains(out, `"b": 2`) {
		t.Errorf("show --db %s %s: got\n%s\nwant the newest POST with its body", db, id, out)
	}
	if out := ok(t, "export", "--db", db, "--har", "-", "~m GET"); strings.Count(out, `"method":"GET"`) != 1 {
		t.Errorf("export --db %s --har - '~m GET': got\n%.500s\nwant one GET entry", db, out)
	}

	// A password never shows, even when the server refuses it.
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("nobody", "s3cret-pw")
	r := bodytapCmd(t, nil, "ls", "--db", u.String())
	if r.code == 0 || !strings.Contains(r.stderr, "nobody:xxxxx@") || strings.Contains(r.stderr+r.stdout, "s3cret-pw") {
		t.Errorf("ls --db with a wrong user and password: exit %d, stderr %q; want an error with the password masked", r.code, r.stderr)
	}
}

// TestPostgresRefused checks that the commands that need the local
// store refuse a PostgreSQL one, saying what it lacks, and never show
// the password. No server is needed: they refuse before connecting.
func TestPostgresRefused(t *testing.T) {
	const db = "postgres://ada:s3cret-pw@db.invalid/bodytap"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ui", []string{"ui", "--db", db}, "no viewer"},
		{"import", []string{"import", "--db", db, "x.har"}, "no import"},
		{"proxy --ui", []string{"proxy", "--db", db, "--upstream", "http://127.0.0.1:1", "--ui", "127.0.0.1:0"}, "no viewer"},
		{"proxy --keep-count", []string{"proxy", "--db", db, "--upstream", "http://127.0.0.1:1", "--keep-count", "10"}, "by age only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bodytapCmd(t, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "ada:xxxxx@") || strings.Contains(r.stderr, "s3cret-pw") {
				t.Errorf("bodytap %s: exit %d, stderr %q; want exit 2 and %q with the password masked", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestPostgresTail follows a PostgreSQL store with tail while a proxy,
// another process, writes it: the first exchange tail prints may come
// from its backlog, the two made after it printed that one come live.
func TestPostgresTail(t *testing.T) {
	db := pgtest.DB(t)
	up := upstream(t)
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := exec.CommandContext(ctx, binary, "tail", "--db", db, "--json")
	tail.Env = cleanEnv()
	out, errOut := new(syncBuffer), new(syncBuffer)
	tail.Stdout, tail.Stderr = out, errOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	c := &http.Client{}
	get(t, c, p.url+"/json?first")
	waitFor(t, out, "first", 10*time.Second)
	get(t, c, p.url+"/json?second")
	get(t, c, p.url+"/json?third")
	waitFor(t, out, "third", 10*time.Second)
	time.Sleep(200 * time.Millisecond) // a duplicate would show by now
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "second") || !strings.Contains(lines[2], "third") {
		t.Errorf("tail --db %s --json: got %d lines, want first, second and third:\n%s\nstderr:\n%s", db, len(lines), out.String(), errOut.String())
	}
}
