package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/jsonl"
)

// The tests here run the real binary, built once by TestMain, as separate
// processes: the proxy between a real client and a real upstream, and the
// commands that read its store.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bodytap-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bodytap")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bodytap:", err)
		os.Exit(1)
	}
	// The PostgreSQL cluster starts on the first pgtest.DB call only, so
	// the tests that do not need it do not wait for it.
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a finished command did.
type result struct {
	code           int
	stdout, stderr string
}

// bodytapCmd runs the binary to its end with args and the extra
// environment variables env ("NAME=value").
func bodytapCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bodytap %s: %v", strings.Join(args, " "), err)
	}
	return result{code, out.String(), errb.String()}
}

// ok runs the binary and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := bodytapCmd(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("bodytap %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// cleanEnv is the environment without BODYTAP_* variables, so that a
// developer's settings do not leak into the tests.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BODYTAP_") {
			env = append(env, kv)
		}
	}
	return env
}

// proxyProc is a running `bodytap proxy` process.
type proxyProc struct {
	cmd    *exec.Cmd
	url    string // where clients connect
	uiURL  string
	mURL   string // the --metrics server's /metrics
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// listenLine is the line the proxy prints once it serves.
var listenLine = regexp.MustCompile(`bodytap proxy: (http://\S+) -> .*?(?:, viewer at (http://\S+))?(?:, metrics at (http://\S+))?$`)

// startProxy starts `bodytap proxy` with args (plus --listen on a free
// port) and waits until it serves.
func startProxyProc(t *testing.T, args ...string) *proxyProc {
	t.Helper()
	args = append([]string{"proxy", "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	pr, pw := io.Pipe()
	p := &proxyProc{cmd: cmd, stderr: new(syncBuffer), exited: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(pw, p.stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case m := <-found:
		p.url, p.uiURL, p.mURL = m[1], m[2], m[3]
	case <-p.exited:
		t.Fatalf("bodytap proxy exited: %v\n%s", p.err, p.stderr.String())
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("bodytap proxy did not start\n%s", p.stderr.String())
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// stop sends SIGTERM and waits for the process to exit, returning how
// long it took; it fails the test on a non-zero exit.
func (p *proxyProc) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("bodytap proxy did not exit within 15 s of SIGTERM\n%s", p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("bodytap proxy: %v\n%s", p.err, p.stderr.String())
	}
	return time.Since(start)
}

// lsJSON runs `bodytap ls --json` and decodes every line.
func lsJSON(t *testing.T, args ...string) []*bodytap.Exchange {
	t.Helper()
	out := ok(t, append([]string{"ls", "--json"}, args...)...)
	var xs []*bodytap.Exchange
	for x, err := range jsonl.Read(strings.NewReader(out)) {
		if err != nil {
			t.Fatalf("ls --json: %v\n%s", err, out)
		}
		xs = append(xs, x)
	}
	return xs
}

// get sends a GET through c and returns the body.
func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "1w2d": 9 * 24 * time.Hour, "0": 0, "0d": 0, " 3d ": 72 * time.Hour,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "7x", "-1d", "7d-", "99999999999999w", "1d1d1d junk"} {
		if d, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, d)
		}
	}
}

// exchange returns a small finished exchange for a store: GET url, 200,
// with the response body body.
func exchange(t testing.TB, id, rawURL string, body []byte) *bodytap.Exchange {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	x := &bodytap.Exchange{Start: time.Now().Add(-time.Minute), Duration: 1500 * time.Microsecond}
	if id != "" {
		if x.ID, err = bodytap.ParseID(id); err != nil {
			t.Fatal(err)
		}
		x.Start = x.ID.Time()
	} else {
		x.ID = bodytap.NewID(x.Start)
	}
	x.Request = bodytap.Request{Method: "GET", URL: u, Proto: "HTTP/1.1", Host: u.Host, Header: http.Header{}, ContentLength: 0}
	x.Request.Body.EOF = true
	x.Response = bodytap.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}}
	x.Response.Body = bodytap.Body{Bytes: body, Size: int64(len(body)), EOF: true}
	return x
}

// importExchanges stores xs in the store db by way of a HAR file and
// bodytap import, and returns what import said.
func importExchanges(t *testing.T, db string, xs ...*bodytap.Exchange) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seed.har")
	w, err := har.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		if err := w.WriteEntry(har.FromExchange(x)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := bodytapCmd(t, nil, "import", path, "--db", db)
	if r.code != 0 {
		t.Fatalf("bodytap import: exit %d\n%s", r.code, r.stderr)
	}
	return r.stderr
}
