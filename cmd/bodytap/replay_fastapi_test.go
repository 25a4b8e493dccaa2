package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/replay"
)

// fastapiPython returns a python3 that imports fastapi and uvicorn (those
// of Debian's python3-fastapi and python3-uvicorn live under
// /usr/bin/python3, which another python3 on $PATH may hide). Without one
// it fails the test in CI and skips it elsewhere.
func fastapiPython(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		py, err := exec.LookPath(name)
		if err == nil && exec.Command(py, "-c", "import fastapi, uvicorn").Run() == nil {
			return py
		}
	}
	const why = "no python3 with fastapi and uvicorn (Debian: python3-fastapi python3-uvicorn)"
	if os.Getenv("CI") != "" {
		t.Fatal(why + ", and CI is set: run .ci/setup")
	}
	t.Skip("skipped: " + why)
	return ""
}

// startFastAPI serves each version (1 or 2) of testdata/fastapi/app.py
// with uvicorn, all at once as Python is slow to start, each on a socket
// bound here and passed as its fd 3. It returns their URLs once they
// answer.
func startFastAPI(t *testing.T, py string, versions ...string) []string {
	t.Helper()
	var urls []string
	var outs []*syncBuffer
	for _, v := range versions {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close() // f holds the socket on
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, "-m", "uvicorn", "app:app", "--fd", "3", "--no-access-log")
		cmd.Dir = "testdata/fastapi"
		cmd.Env = append(cleanEnv(), "APP_VERSION="+v, "PYTHONDONTWRITEBYTECODE=1")
		cmd.ExtraFiles = []*os.File{f}
		out := new(syncBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Start()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		urls, outs = append(urls, "http://"+ln.Addr().String()), append(outs, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, u := range urls {
		req, _ := http.NewRequestWithContext(ctx, "GET", u+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("FastAPI app version %s did not answer: %v\n%s", versions[i], err, outs[i].String())
		}
		resp.Body.Close()
	}
	return urls
}

// TestFastAPIReplayAndMock captures traffic to version 1 of a FastAPI
// application through 'bodytap proxy', replays it against version 2,
// which changes one field and adds noise (a timestamp, generated IDs, a
// generated header): with --detect-noise replay finds exactly the changed
// field. Then 'bodytap mock' serves curl what version 1 sent, byte for
// byte.
func TestFastAPIReplayAndMock(t *testing.T) {
	py := fastapiPython(t)
	apps := startFastAPI(t, py, "1", "2")
	v1, v2 := apps[0], apps[1]

	db := filepath.Join(t.TempDir(), "fastapi.db")
	p := startProxyProc(t, "--upstream", v1, "--db", db)
	gets := []string{"/users/1", "/items?limit=2", "/health"}
	for _, path := range gets {
		if resp, b := rawGet(t, p.url+path, false); resp.StatusCode != 200 {
			t.Fatalf("GET %s through the proxy: %d %q", path, resp.StatusCode, b)
		}
	}
	resp, err := http.Post(p.url+"/orders", "application/json", strings.NewReader(`{"item":7}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.stop(t)

	dir := t.TempDir()
	report := filepath.Join(dir, "out.json")

	// Without noise detection the noise shows as changes: it is real.
	bodytapCmd(t, nil, "replay", "--db", db, "--to", v2, "--report", report)
	noisy := readReport(t, report, v2)
	if w := diffWhere(noisy["/users/1"].Diffs); !slices.Contains(w, "$.updated_at") || !slices.Contains(w, "$.request_id") || !slices.Contains(w, "header X-Request-Id") {
		t.Errorf("without --detect-noise, /users/1 differs at %q; want the noise among it", w)
	}
	if o := noisy["/items?limit=2"].Outcome; o != replay.Changed {
		t.Errorf("without --detect-noise, /items is %q, want changed by its generated IDs", o)
	}

	r := bodytapCmd(t, nil, "replay", "--db", db, "--to", v2, "--detect-noise", "--report", report)
	if r.code != 1 || !strings.Contains(r.stdout, "2 same, 1 changed, 0 failed, 1 skipped, 0 not replayable") {
		t.Errorf("replay --detect-noise: exit %d, want 1 and one change\n%s%s", r.code, r.stdout, r.stderr)
	}
	res := readReport(t, report, v2)
	for k, want := range map[string]replay.Outcome{
		"/users/1": replay.Changed, "/items?limit=2": replay.Same, "/health": replay.Same, "/orders": replay.Skipped,
	} {
		if got := res[k].Outcome; got != want {
			t.Errorf("%s: %q %v, want %q", k, got, res[k].Diffs, want)
		}
	}
	user := res["/users/1"]
	if w := diffWhere(user.Diffs); !slices.Equal(w, []string{"$.plan"}) || user.Diffs[0].Recorded != `"free"` || user.Diffs[0].Got != `"pro"` {
		t.Errorf("/users/1 differs by %+v, want exactly $.plan \"free\" -> \"pro\"", user.Diffs)
	}
	slices.Sort(user.Noise)
	if want := []string{"$.request_id", "$.updated_at", "header X-Request-Id"}; !slices.Equal(user.Noise, want) {
		t.Errorf("/users/1 noise %q, want %q", user.Noise, want)
	}
	items := res["/items?limit=2"].Noise
	slices.Sort(items)
	if want := []string{"$.items[0].trace", "$.items[1].trace", "header X-Request-Id"}; !slices.Equal(items, want) {
		t.Errorf("/items noise %q, want %q", items, want)
	}

	// The mock answers as version 1 did.
	m, stderr := startMock(t, "--db", db)
	for _, path := range gets {
		want, wantBody := rawGet(t, v1+path, false)
		got, gotBody := rawGet(t, m+path, false)
		if got.StatusCode != want.StatusCode || string(gotBody) != string(wantBody) || got.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
			t.Errorf("%s: the mock answers %d %q %q, the application %d %q %q", path,
				got.StatusCode, got.Header.Get("Content-Type"), gotBody, want.StatusCode, want.Header.Get("Content-Type"), wantBody)
		}
		curlMatches(t, m+path, v1+path)
	}
	if strings.Contains(stderr.String(), " miss ") {
		t.Errorf("the mock missed:\n%s", stderr.String())
	}
}
