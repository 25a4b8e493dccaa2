package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mockApp is a small service with the kinds of answer a mock must give
// back exactly: JSON, a gzip body, a query-dependent answer, a
// server-sent event stream and a body too large for the capture.
func mockApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/user/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App", "v1")
		fmt.Fprint(w, `{"id":1,"name":"Ada"}`)
	})
	mux.HandleFunc("GET /api/list", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"q":%q}`, r.URL.RawQuery)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(bytes.Repeat([]byte("<p>hello</p>\n"), 20))
		zw.Close()
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		fmt.Fprint(w, "data: 1\n\n")
		rc.Flush()
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "data: 2\n\n")
		rc.Flush()
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 4096))
	})
	return mux
}

// rawGet fetches url, undoing a gzip content coding only if decode is set.
func rawGet(t *testing.T, url string, decode bool) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableCompression: !decode}}
	resp, err := c.Get(url)
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

var mockLine = regexp.MustCompile(`bodytap mock: answering at (http://\S+)`)

// startMock runs 'bodytap mock' on a free port and returns its URL and
// its growing stderr.
func startMock(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"mock", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = cleanEnv()
	stderr := new(syncBuffer)
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(pw, stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := mockLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-found:
		return u, stderr
	case <-exited:
		t.Fatalf("bodytap mock exited\n%s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("bodytap mock did not start\n%s", stderr.String())
	}
	return "", nil
}

func TestMock(t *testing.T) {
	app := httptest.NewServer(mockApp())
	defer app.Close()
	db := filepath.Join(t.TempDir(), "mock.db")
	p := startProxyProc(t, "--upstream", app.URL, "--db", db, "--max-body", "1KiB")
	paths := []string{"/api/user/1", "/api/list?page=2&sort=name", "/page", "/events", "/big"}
	for _, path := range paths {
		rawGet(t, p.url+path, false)
	}
	p.stop(t)

	dir := t.TempDir()
	harFile := filepath.Join(dir, "out.har")
	ok(t, "export", "--db", db, "--har", harFile)

	for _, src := range [][]string{{"--db", db}, {"--har", harFile}} {
		t.Run(src[0][2:], func(t *testing.T) {
			m, stderr := startMock(t, append(src, "--timing")...)
			for _, path := range paths[:4] {
				// The proxy undid the gzip of /page to redact it: the
				// mock serves it decoded, without Content-Encoding.
				want, wantBody := rawGet(t, app.URL+path, path == "/page")
				got, gotBody := rawGet(t, m+path, false)
				if got.StatusCode != want.StatusCode || !bytes.Equal(gotBody, wantBody) {
					t.Errorf("%s: %d %q, want %d %q", path, got.StatusCode, gotBody, want.StatusCode, wantBody)
				}
				for _, h := range []string{"Content-Type", "Content-Encoding", "X-App"} {
					if g, w := got.Header.Get(h), want.Header.Get(h); g != w {
						t.Errorf("%s: %s %q, want %q", path, h, g, w)
					}
				}
			}

			// The query in another order is the same request.
			if _, b := rawGet(t, m+"/api/list?sort=name&page=2", false); string(b) != `{"q":"page=2\u0026sort=name"}` && string(b) != `{"q":"page=2&sort=name"}` {
				t.Errorf("query in another order: %q", b)
			}

			// A miss names the closest recorded request, and is logged.
			resp, b := rawGet(t, m+"/api/user/2", false)
			if resp.StatusCode != 404 || !strings.Contains(string(b), "closest recorded request: GET /api/user/1") {
				t.Errorf("miss: %d %q", resp.StatusCode, b)
			}
			for i := 0; i < 100 && !strings.Contains(stderr.String(), "miss GET"); i++ {
				time.Sleep(20 * time.Millisecond) // stderr comes through a pipe
			}
			if !strings.Contains(stderr.String(), "bodytap mock: miss GET /api/user/2 (closest GET /api/user/1)\n") {
				t.Errorf("miss not logged:\n%s", stderr.String())
			}

			// A truncated body is not served wrong.
			if resp, b = rawGet(t, m+"/big", false); resp.StatusCode != 502 || !strings.Contains(string(b), "truncated at capture") {
				t.Errorf("truncated: %d %q", resp.StatusCode, b)
			}

			// --timing spaces the events as they were.
			resp, err := http.Get(m + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			br.ReadString('\n')
			first := time.Now()
			io.ReadAll(br)
			if gap := time.Since(first); gap < 150*time.Millisecond {
				t.Errorf("--timing: the second event came %v after the first, want at least 150ms", gap)
			}

			curlMatches(t, m+"/page", app.URL+"/page")
		})
	}
}

// curlMatches fetches both URLs with curl, which must answer the same bytes
// (the second decoded, as the mock serves it).
func curlMatches(t *testing.T, got, want string) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed, and CI is set: the curl check must run")
		}
		t.Log("curl is not installed: skipping the check with curl")
		return
	}
	fetch := func(u string, flags ...string) []byte {
		out, err := exec.Command(curl, append(flags, "-sS", "--fail", u)...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", u, err)
		}
		return out
	}
	if g, w := fetch(got), fetch(want, "--compressed"); !bytes.Equal(g, w) {
		t.Errorf("curl %s: %q, want %q", got, g, w)
	}
}
