package main

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
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

// TestPostgresViewerNeedsToken checks that the viewer over a shared
// store refuses to serve beyond loopback without --token, before it
// connects, never showing the password.
func TestPostgresViewerNeedsToken(t *testing.T) {
	const db = "postgres://ada:s3cret-pw@db.invalid/bodytap"
	tests := []struct {
		name string
		args []string
	}{
		{"ui", []string{"ui", "--db", db, "--listen", "0.0.0.0:0"}},
		{"proxy --ui", []string{"proxy", "--db", db, "--upstream", "http://127.0.0.1:1", "--ui", ":0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bodytapCmd(t, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, "without a token") || strings.Contains(r.stderr, "s3cret-pw") {
				t.Errorf("bodytap %s: exit %d, stderr %q; want exit 2 and a refusal without a token", strings.Join(tt.args, " "), r.code, r.stderr)
			}
		})
	}
	// Loopback needs none: this one gets as far as connecting.
	r := bodytapCmd(t, nil, "ui", "--db", db+"?connect_timeout=1", "--listen", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "ada:xxxxx@db.invalid") || strings.Contains(r.stderr, "s3cret-pw") {
		t.Errorf("bodytap ui on loopback with an unreachable database: exit %d, stderr %q; want exit 1 naming it, password masked", r.code, r.stderr)
	}
}

// TestPostgresImport imports HAR files into a PostgreSQL store: what is
// there already is skipped, a broken file imports nothing.
func TestPostgresImport(t *testing.T) {
	db := pgtest.DB(t)
	xs := []*bodytap.Exchange{
		exchange(t, "", "http://api.example.com/1", []byte("one")),
		exchange(t, "", "http://api.example.com/2", []byte("two")),
	}
	if msg := importExchanges(t, db, xs...); !strings.Contains(msg, "imported 2 exchanges") || strings.Contains(msg, "already") {
		t.Errorf("first import: %q", msg)
	}
	if msg := importExchanges(t, db, xs...); !strings.Contains(msg, "imported 0 exchanges") || !strings.Contains(msg, "all 2 were there already") {
		t.Errorf("second import: %q; want it to say both were there already", msg)
	}
	bad := filepath.Join(t.TempDir(), "bad.har")
	if err := os.WriteFile(bad, []byte(`{"log":{"version":"1.2","entries":[{"startedDateTime":"2024-01-01T00:00:00Z","request":{"method":"GET","url":"http://api.example.com/3"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := bodytapCmd(t, nil, "import", "--db", db, bad); r.code == 0 || !strings.Contains(r.stderr, "nothing imported") {
		t.Errorf("import of a broken file: exit %d, stderr %q; want an error, nothing imported", r.code, r.stderr)
	}
	got := lsJSON(t, "--db", db)
	if len(got) != 2 || got[0].ID != xs[1].ID || string(got[1].Response.Body.Bytes) != "one" {
		t.Errorf("ls --db %s after the imports: %d exchanges, want the 2 imported", db, len(got))
	}

	// What ls --json writes imports back, into either store.
	lines := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(lines, []byte(ok(t, "ls", "--json", "--db", db)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{pgtest.DB(t), filepath.Join(t.TempDir(), "local.db")} {
		if r := bodytapCmd(t, nil, "import", "--db", to, lines); r.code != 0 || !strings.Contains(r.stderr, "imported 2 exchanges") {
			t.Errorf("import --db %s of JSON Lines: exit %d, %q", to, r.code, r.stderr)
		}
		if again := lsJSON(t, "--db", to); len(again) != 2 || again[0].ID != xs[1].ID || string(again[1].Response.Body.Bytes) != "one" {
			t.Errorf("ls --db %s after importing JSON Lines: %d exchanges, want the 2 of %s", to, len(again), db)
		}
	}
}

// TestPostgresUI serves the viewer of a PostgreSQL store, from bodytap ui
// and beside a proxy writing it, and follows the proxy's captures.
func TestPostgresUI(t *testing.T) {
	db := pgtest.DB(t)
	old := exchange(t, "", "http://api.example.com/imported", []byte("imported-body"))
	importExchanges(t, db, old)
	url := startUI(t, "--db", db)
	_, page := get(t, http.DefaultClient, url)
	if !strings.Contains(string(page), `href="/x/`+old.ID.String()+`"`) {
		t.Errorf("ui --db %s: the list lacks the imported exchange:\n%s", db, page)
	}
	_, detail := get(t, http.DefaultClient, url+"x/"+old.ID.String())
	if !strings.Contains(string(detail), "imported-body") {
		t.Errorf("ui --db %s: /x/%s lacks the body:\n%.2000s", db, old.ID, detail)
	}

	up := upstream(t)
	p := startProxyProc(t, "--upstream", up.URL, "--db", db, "--ui", "127.0.0.1:0", "--keep-count", "1000")
	get(t, http.DefaultClient, p.url+"/json?via-proxy")
	deadline := time.Now().Add(10 * time.Second)
	for _, u := range []string{p.uiURL, url} {
		for {
			_, page := get(t, http.DefaultClient, u)
			if strings.Contains(string(page), "via-proxy") && strings.Contains(string(page), "/imported") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("viewer %s: no row of the proxy's capture and the imported one:\n%s", u, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestPostgresTailWaits starts tail on a database that no bodytap wrote
// yet: it waits, saying so, and follows the first proxy that writes it.
func TestPostgresTailWaits(t *testing.T) {
	db := pgtest.DB(t)
	out, errOut := startTail(t, "--db", db)
	waitFor(t, errOut, "waiting for a store in", 10*time.Second)

	up := upstream(t)
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	for i := 0; !strings.Contains(out.String(), "first-capture"); i++ {
		if i == 200 {
			t.Fatalf("tail printed no capture in 10 s:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		get(t, http.DefaultClient, p.url+"/json?first-capture")
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostgresTail follows a PostgreSQL store with tail while a proxy,
// another process, writes it: the first exchange tail prints may come
// from its backlog, the two made after it printed that one come live.
func TestPostgresTail(t *testing.T) {
	db := pgtest.DB(t)
	up := upstream(t)
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	out, errOut := startTail(t, "--db", db, "--json")
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

// startTail starts bodytap tail with args, stopped when the test ends,
// and returns what it prints.
func startTail(t *testing.T, args ...string) (stdout, stderr *syncBuffer) {
	t.Helper()
	tail := exec.Command(binary, append([]string{"tail"}, args...)...)
	tail.Env = cleanEnv()
	stdout, stderr = new(syncBuffer), new(syncBuffer)
	tail.Stdout, tail.Stderr = stdout, stderr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tail.Process.Kill(); tail.Wait() })
	return stdout, stderr
}
