package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
	_ "modernc.org/sqlite"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 1000), 0o600)
	badHAR := filepath.Join(dir, "bad.har")
	os.WriteFile(badHAR, []byte(`{"log":{"version":"1.2","entries":[{"startedDateTime":`), 0o600)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		args []string
		env  []string
		code int
		want string // in the one line on stderr
	}{
		{nil, nil, 2, "Usage"},
		{[]string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{[]string{"ls", "--bogus"}, nil, 2, "flag not defined: --bogus"},
		{[]string{"ls", "--sinse", "1h"}, nil, 2, "flag not defined: --sinse; did you mean --since?"},
		{[]string{"ls", "--lim", "5"}, nil, 2, "did you mean --limit?"},
		{[]string{"ls", "--limit", "x"}, nil, 2, `invalid value "x" for flag --limit: not a whole number`},
		{[]string{"ls", "--since", "7q"}, nil, 2, "for flag --since"},
		{[]string{"proxy", "--keep-for", "7days"}, nil, 2, "--keep-for: want a duration such as"},
		{[]string{"collect", "--db", filepath.Join(dir, "c.db"), "--spool", dir}, nil, 2, "--spool and --spool-max apply to a postgres:// --db only"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--db", filepath.Join(dir, "p.db"), "--spool-max", "0"}, nil, 2, "--spool and --spool-max apply to a postgres:// --db only"},
		{[]string{"ls", "--db", filepath.Join(dir, "missing.db")}, nil, 1, "missing.db: no such file"},
		{[]string{"ls", "--db", garbage}, nil, 1, "garbage.db"},
		{[]string{"ls", "--db", garbage, "~x"}, nil, 2, `~x`},
		{[]string{"ls", "--since", "yesterday"}, nil, 2, "-since"},
		{[]string{"ls"}, []string{"BODYTAP_LIMIT=many"}, 2, "BODYTAP_LIMIT"},
		{[]string{"show"}, nil, 2, "want one exchange ID"},
		{[]string{"show", "nope"}, nil, 2, `"nope": not an exchange ID or the start of one`},
		{[]string{"show", "--body", "both", "01JD5Z0000000000000000000A"}, nil, 2, "-body"},
		{[]string{"export", "--db", filepath.Join(dir, "missing.db")}, nil, 1, "missing.db: no such file"}, // stdout is no terminal: --har -
		{[]string{"import"}, nil, 2, "want one HAR or JSON Lines file"},
		{[]string{"import", filepath.Join(dir, "none.har")}, nil, 1, "none.har"},
		{[]string{"import", badHAR, "--db", filepath.Join(dir, "new.db")}, nil, 1, "bad.har"},
		{[]string{"proxy"}, nil, 2, "--upstream URL is required"},
		{[]string{"proxy", "--upstream", "ftp://example.com"}, nil, 2, "--upstream"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:99999"}, nil, 2, `--upstream "http://127.0.0.1:99999": port 99999 is out of range (1 to 65535)`},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:0"}, nil, 2, "port 0 is out of range"},
		{[]string{"proxy", "--upstream", "http://:3000"}, nil, 2, "with a host"},
		{[]string{"proxy", "--upstream", "127.0.0.1:3000"}, nil, 2, "want an http:// or https:// URL"},
		// The viewer's address is taken: one line, before any "stopped".
		{[]string{"proxy", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--ui", taken.Addr().String(), "--db", filepath.Join(dir, "ui.db")}, nil, 1, "--ui " + taken.Addr().String() + ": bind: address already in use"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:99999"}, nil, 1, "--listen"},
		{[]string{"ui", "--listen", "0.0.0.0:0", "--db", garbage}, nil, 2, "token"},
		{[]string{"help", "nothing"}, nil, 2, "nothing"},
	} {
		r := bodytapCmd(t, tc.env, tc.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || (tc.code == 1 && len(lines) != 1) {
			t.Errorf("bodytap %s: exit %d, stderr:\n%s\nwant exit %d and one line with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
	// A corrupt db and a failed import leave the files as they were.
	if b, _ := os.ReadFile(garbage); !bytes.Equal(b, bytes.Repeat([]byte("not a database "), 1000)) {
		t.Error("opening a corrupt db changed it")
	}
	for _, name := range []string{"new.db", "new.db-wal", "new.db-shm", "ui.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a failed command left %s behind", name)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		r := bodytapCmd(t, nil, c.name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: bodytap "+c.name) {
			t.Errorf("bodytap %s --help: exit %d\n%s%s", c.name, r.code, r.stdout, r.stderr)
		}
		if r2 := bodytapCmd(t, nil, "help", c.name); r2.stdout != r.stdout {
			t.Errorf("bodytap help %s differs from --help", c.name)
		}
	}
	out := ok(t, "help", "filters")
	for _, op := range []string{"~m", "~u", "~c", "~b", "~hq", "&", "|", "!"} {
		if !strings.Contains(out, op) {
			t.Errorf("help filters does not mention %s", op)
		}
	}
}

// upstream is the test's origin server.
func upstream(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":{"name":"ada","roles":["admin","dev"]},"n":42}`)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, strings.Repeat("squeeze me ", 100))
		zw.Close()
	})
	mux.HandleFunc("GET /bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(binaryBody)
	})
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "it broke", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /zeros", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		io.Copy(w, io.LimitReader(zeroReader{}, n))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var binaryBody = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i * 31)
	}
	return b
}()

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// h2cClient speaks HTTP/2 without TLS, as the proxy serves it.
func h2cClient() *http.Client {
	tr := &http.Transport{DisableCompression: true}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

func TestProxyEndToEnd(t *testing.T) {
	up := upstream(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "e2e.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	h1 := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	h2 := h2cClient()

	resp, body := get(t, h1, p.url+"/json")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ada"`) {
		t.Fatalf("GET /json through the proxy: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, h2, p.url+"/json?via=h2")
	if resp.ProtoMajor != 2 || !strings.Contains(string(body), `"ada"`) {
		t.Fatalf("GET /json over h2c: %s %q", resp.Proto, body)
	}
	post, err := h1.Post(p.url+"/echo", "application/json", strings.NewReader(`{"password":"hunter2","note":"hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	echoed, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if string(echoed) != `{"password":"hunter2","note":"hello"}` {
		t.Fatalf("the upstream did not get the request body unchanged: %q", echoed)
	}
	resp, body = get(t, h1, p.url+"/gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) > 200 {
		t.Fatalf("gzip body changed on the way: %v, %d bytes", resp.Header, len(body))
	}
	if _, body = get(t, h1, p.url+"/bin"); !bytes.Equal(body, binaryBody) {
		t.Fatal("binary body changed on the way")
	}
	get(t, h1, p.url+"/sse")
	if resp, _ = get(t, h1, p.url+"/fail"); resp.StatusCode != 500 {
		t.Fatalf("GET /fail: %d", resp.StatusCode)
	}

	if d := p.stop(t); d > 10*time.Second {
		t.Errorf("the proxy took %v to stop after SIGTERM; want under 10 s", d)
	}

	xs := lsJSON(t, "--db", db)
	if len(xs) != 7 {
		t.Fatalf("ls --json: %d exchanges, want 7", len(xs))
	}
	byPath := map[string]*bodytap.Exchange{}
	for _, x := range xs {
		byPath[x.Request.URL.Path] = x
	}
	if x := byPath["/bin"]; x == nil || !bytes.Equal(x.Response.Body.Bytes, binaryBody) {
		t.Error("the stored binary body differs from what passed")
	}
	if x := byPath["/echo"]; x == nil || !strings.Contains(string(x.Request.Body.Bytes), `"note":"hello"`) ||
		strings.Contains(string(x.Request.Body.Bytes), "hunter2") || !x.Request.Body.Redacted {
		t.Errorf("the stored request body should keep the note and redact the password: %+v", x.Request.Body)
	}
	if x := byPath["/fail"]; x == nil || x.Response.Status != 500 {
		t.Error("the 500 was not recorded")
	}
	if got := lsJSON(t, "--db", db, "~m", "POST"); len(got) != 1 || got[0].Request.Method != "POST" {
		t.Errorf("ls --json ~m POST: %d exchanges", len(got))
	}
	if got := lsJSON(t, "~c 5xx", "--db", db); len(got) != 1 {
		t.Errorf("ls ~c 5xx (flags after the filter): %d exchanges", len(got))
	}
	if got := lsJSON(t, "--db", db, "--limit", "2"); len(got) != 2 || got[0].ID.String() < got[1].ID.String() {
		t.Errorf("ls --json --limit 2: want the 2 newest, newest first")
	}
	table := ok(t, "ls", "--db", db, "--limit", "3")
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, "... 4 more") {
		t.Errorf("ls table:\n%s", table)
	}

	// show: text, JSON and raw bodies.
	js := byPath["/json"]
	text := ok(t, "show", js.ID.String(), "--db", db)
	if !strings.Contains(text, "\n  \"user\": {\n    \"name\": \"ada\",") {
		t.Errorf("show does not pretty-print the JSON body:\n%s", text)
	}
	var shown bodytap.Exchange
	if err := jsonl.Unmarshal([]byte(ok(t, "show", "--db", db, "--json", js.ID.String())), &shown); err != nil || shown.ID != js.ID {
		t.Errorf("show --json: %v", err)
	}
	if raw := ok(t, "show", "--db", db, byPath["/bin"].ID.String(), "--body", "response", "--raw"); raw != string(binaryBody) {
		t.Error("show --raw differs from the captured bytes")
	}
	gz := ok(t, "show", "--db", db, byPath["/gzip"].ID.String(), "--body", "response")
	if !strings.Contains(gz, "squeeze me squeeze me") {
		t.Errorf("show does not decode the gzip body:\n%.200s", gz)
	}
	if hex := ok(t, "show", "--db", db, byPath["/bin"].ID.String(), "--body", "response"); !strings.HasPrefix(hex, "00000000  00 1f 3e") {
		t.Errorf("show prints binary bodies as a hex dump:\n%.200s", hex)
	}

	// export, validate, import into a new store: bodies round-trip exactly.
	harPath := filepath.Join(dir, "out.har")
	ok(t, "export", "--db", db, "--har", harPath)
	validateHAR(t, harPath)
	db2 := filepath.Join(dir, "imported.db")
	ok(t, "import", harPath, "--db", db2)
	ys := lsJSON(t, "--db", db2)
	if len(ys) != len(xs) {
		t.Fatalf("imported %d exchanges, exported %d", len(ys), len(xs))
	}
	for i := range xs {
		a, b := xs[i], ys[i]
		if !bytes.Equal(a.Request.Body.Bytes, b.Request.Body.Bytes) || !bytes.Equal(a.Response.Body.Bytes, b.Response.Body.Bytes) ||
			a.Response.Status != b.Response.Status || a.Request.URL.String() != b.Request.URL.String() {
			t.Errorf("%s %s: the HAR round trip changed it", a.Request.Method, a.Request.URL)
		}
	}
	checkIntegrity(t, db2)
}

// validateHAR checks a HAR file with the npm package har-validator, as
// the har package's tests do.
func validateHAR(t *testing.T, path string) {
	t.Helper()
	node, err := exec.LookPath("node")
	script, _ := filepath.Abs("../../har/testdata/validate.js")
	if _, serr := os.Stat("../../har/testdata/node_modules/har-validator"); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("har-validator is not installed (run .ci/setup)")
		}
		t.Log("HAR schema check skipped: node or har-validator missing; run .ci/setup")
		return
	}
	if out, err := exec.Command(node, script, path).CombinedOutput(); err != nil {
		t.Errorf("har-validator: %v\n%s", err, out)
	}
}

// checkIntegrity opens a store file directly and runs SQLite's
// integrity check.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check of %s: %q %v", path, res, err)
	}
}

func TestProxyStoresEverythingOnSIGTERM(t *testing.T) {
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "term.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	const n = 300
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := c.Post(p.url+"/echo", "text/plain", strings.NewReader(fmt.Sprintf("request %d %s", i, strings.Repeat("x", 1000))))
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p.stop(t) // right after the last response
	if xs := lsJSON(t, "--db", db); len(xs) != n {
		t.Fatalf("stored %d of %d exchanges", len(xs), n)
	}
	if strings.Contains(p.stderr.String(), "dropped=1") || regexp.MustCompile(`dropped=[1-9]`).MatchString(p.stderr.String()) {
		t.Errorf("the proxy dropped captures:\n%s", p.stderr.String())
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	db := filepath.Join(t.TempDir(), "down.db")
	p := startProxyProc(t, "--upstream", "http://"+addr, "--db", db)
	resp, body := get(t, http.DefaultClient, p.url+"/anything")
	if resp.StatusCode != http.StatusBadGateway || strings.Count(strings.TrimSpace(string(body)), "\n") != 0 || !strings.Contains(string(body), addr) {
		t.Errorf("upstream down: %d %q; want 502 with a one-line reason naming the upstream", resp.StatusCode, body)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "upstream unreachable") {
		t.Errorf("no warning at start:\n%s", p.stderr.String())
	}
	xs := lsJSON(t, "--db", db)
	if len(xs) != 1 || xs[0].Response.Status != 502 {
		t.Errorf("the 502 was not recorded: %d exchanges", len(xs))
	}
}

func TestTail(t *testing.T) {
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "tail.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	get(t, http.DefaultClient, p.url+"/json?before-tail")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := exec.CommandContext(ctx, binary, "tail", "--db", db, "~u", "/json")
	tail.Env = cleanEnv()
	out := new(syncBuffer)
	tail.Stdout, tail.Stderr = out, out
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	waitFor(t, out, "before-tail", 10*time.Second)
	get(t, http.DefaultClient, p.url+"/fail?not-matching")
	get(t, http.DefaultClient, p.url+"/json?after-tail")
	waitFor(t, out, "after-tail", 5*time.Second)
	if strings.Contains(out.String(), "not-matching") {
		t.Errorf("tail printed an exchange its filter excludes:\n%s", out.String())
	}
}

func waitFor(t *testing.T, b *syncBuffer, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not show within %v:\n%s", s, d, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPythonUpstream(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Go upstream tests cover the proxy")
	}
	dir := t.TempDir()
	content := strings.Repeat("served by python\n", 100)
	os.WriteFile(filepath.Join(dir, "page.txt"), []byte(content), 0o644)
	srv := exec.Command(python, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir)
	out := new(syncBuffer)
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitFor(t, out, "Serving HTTP on", 10*time.Second)
	m := regexp.MustCompile(`port (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("python did not say its port:\n%s", out.String())
	}
	db := filepath.Join(dir, "py.db")
	p := startProxyProc(t, "--upstream", "http://127.0.0.1:"+m[1], "--db", db)
	if _, body := get(t, http.DefaultClient, p.url+"/page.txt"); string(body) != content {
		t.Fatalf("through the proxy: %d bytes, want %d", len(body), len(content))
	}
	p.stop(t)
	xs := lsJSON(t, "--db", db)
	if len(xs) != 1 || string(xs[0].Response.Body.Bytes) != content || !strings.HasPrefix(xs[0].Response.Header.Get("Server"), "SimpleHTTP") {
		t.Fatalf("python exchange not stored as it passed")
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	r := bodytapCmd(t, nil, "demo", "--db", db, // not a terminal: exits after the traffic
		"--listen", "127.0.0.1:0", "--ui", "127.0.0.1:0")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"starting a sample API", "/api/users", "/events", "/gzip", "/download", "Try next", "help filters", "export --har"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	xs := lsJSON(t, "--db", db)
	if len(xs) != 10 {
		t.Fatalf("demo stored %d exchanges, want 10", len(xs))
	}
	for _, x := range xs {
		if strings.Contains(string(x.Request.Body.Bytes), "hunter2") || strings.Contains(x.Request.URL.RawQuery, "k3y") ||
			strings.Contains(x.Request.Header.Get("Authorization"), "abc.def") {
			t.Errorf("a secret of the demo traffic reached the store: %s", x.Request.URL)
		}
	}
}

// TestProxyMemory streams 2 GiB through the real proxy binary and reads
// its peak resident set size from /proc.
func TestProxyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 2 GiB; skipped with -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the proxy's peak RSS")
	}
	up := upstream(t)
	db := filepath.Join(t.TempDir(), "mem.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	const size = 2 << 30
	resp, err := http.Get(p.url + fmt.Sprintf("/zeros?n=%d", size))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d of %d bytes: %v", n, size, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmHWM in /proc status")
	}
	var kb int64
	fmt.Sscan(string(m[1]), &kb)
	t.Logf("peak RSS of the proxy while streaming 2 GiB: %.1f MiB", float64(kb)/1024)
	if kb > 100<<10 {
		t.Errorf("peak RSS %d KiB; want under 100 MiB", kb)
	}
	p.stop(t)
}

func TestImportTwice(t *testing.T) {
	db := filepath.Join(t.TempDir(), "twice.db")
	xs := []*bodytap.Exchange{
		exchange(t, "", "http://api.example.com/1", nil),
		exchange(t, "", "http://api.example.com/2", nil),
	}
	if msg := importExchanges(t, db, xs...); !strings.Contains(msg, "imported 2 exchanges") || strings.Contains(msg, "already") {
		t.Errorf("first import: %q", msg)
	}
	if msg := importExchanges(t, db, xs...); !strings.Contains(msg, "imported 0 exchanges") || !strings.Contains(msg, "all 2 were there already") {
		t.Errorf("second import: %q; want it to say both were there already", msg)
	}
	xs = append(xs, exchange(t, "", "http://api.example.com/3", nil))
	if msg := importExchanges(t, db, xs...); !strings.Contains(msg, "imported 1 exchanges") || !strings.Contains(msg, "; 2 were there already") {
		t.Errorf("third import: %q", msg)
	}
}

func TestExportToStdout(t *testing.T) {
	db := filepath.Join(t.TempDir(), "out.db")
	importExchanges(t, db, exchange(t, "", "http://api.example.com/1", nil), exchange(t, "", "http://api.example.com/2", nil))
	for _, args := range [][]string{{}, {"--har", "-"}} {
		r := bodytapCmd(t, nil, append([]string{"export", "--db", db}, args...)...)
		var doc struct {
			Log struct{ Entries []json.RawMessage }
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Log.Entries) != 2 {
			t.Errorf("export %s into a pipe: exit %d, %d entries\n%.300s%s", args, r.code, len(doc.Log.Entries), r.stdout, r.stderr)
		}
	}
}
