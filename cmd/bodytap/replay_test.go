package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bodytap/bodytap/replay"
)

// app is a small service in two versions: version 2 changes one field
// ($.plan) and adds noise (a timestamp, a random ID, a random header).
type app struct {
	v2      bool
	other   string        // a server on another host, that /go redirects to
	unsafe  atomic.Int32  // POST and PUT requests served
	slowHit chan struct{} // for version 2: /slow hangs and is announced here
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != "GET":
		a.unsafe.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == "/api/user/1":
		u := map[string]any{"id": 1, "name": "Ada", "plan": "free", "tags": []string{"a", "b"}}
		if a.v2 {
			u["plan"] = "pro"
			u["ts"] = time.Now().Format(time.RFC3339Nano)
			u["request_id"] = rand.Text()
			w.Header().Set("X-Request-Id", rand.Text())
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u)
	case r.URL.Path == "/api/list":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"id":1,"q":%q},{"id":2}]`, r.URL.RawQuery)
	case r.URL.Path == "/big": // more than the capture keeps
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for i := range 300 {
			fmt.Fprintf(w, "line %d\n", i)
		}
	case r.URL.Path == "/hello":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "hello\nworld\n")
	case r.URL.Path == "/api/me":
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"me":"ada"}`)
	case r.URL.Path == "/go":
		http.Redirect(w, r, a.other+"/elsewhere", http.StatusFound)
	case r.URL.Path == "/slow":
		if a.slowHit != nil { // version 2 hangs until the client goes
			select {
			case a.slowHit <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		}
	default:
		http.NotFound(w, r)
	}
}

// replaySetup captures traffic to version 1 through 'bodytap proxy' into
// the store db (a file or a postgres:// URL) and starts version 2 and the
// other host.
func replaySetup(t *testing.T, db string) (v2 *app, v2URL string, otherHits *atomic.Int32) {
	t.Helper()
	otherHits = new(atomic.Int32)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	t.Cleanup(other.Close)
	v1 := httptest.NewServer(&app{other: other.URL})
	t.Cleanup(v1.Close)
	v2 = &app{v2: true, other: other.URL, slowHit: make(chan struct{}, 1)}
	s2 := httptest.NewServer(v2)
	t.Cleanup(s2.Close)

	p := startProxyProc(t, "--upstream", v1.URL, "--db", db, "--max-body", "1KiB")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, auth string, body []byte) {
		req, _ := http.NewRequest(method, p.url+path, bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send("GET", "/api/user/1", "", nil)
	send("GET", "/api/list?page=2", "", nil)
	send("GET", "/hello", "", nil)
	send("GET", "/big", "", nil)
	send("GET", "/go", "", nil)
	send("POST", "/api/orders", "", []byte(`{"item":1}`))
	send("GET", "/api/me", "Bearer s3cret-token", nil)
	send("PUT", "/upload", "", bytes.Repeat([]byte("x"), 4096)) // truncated at 1KiB
	send("GET", "/slow", "", nil)
	p.stop(t)
	return v2, s2.URL, otherHits
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "replay.db")
	v2, v2URL, otherHits := replaySetup(t, db)
	report, junit := filepath.Join(dir, "out.json"), filepath.Join(dir, "out.xml")
	checkReplay(t, db, v2, v2URL, otherHits, "--report", report, "--junit", junit)

	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suite struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("--junit: %v\n%s", err, b)
	}
	s := suites.Suite
	if s.Tests != 8 || s.Failures != 1 || s.Skipped != 3 || !strings.Contains(string(b), "<system-out>not compared: the body past the part kept") {
		t.Errorf("junit: %d tests, %d failures, %d skipped; want 8, 1, 3 and what was not compared\n%s", s.Tests, s.Failures, s.Skipped, b)
	}
	for _, c := range s.Cases {
		if c.Failure != nil && !strings.Contains(c.Failure.Text, `$.plan: "free" -> "pro"`) {
			t.Errorf("junit failure of %s: %q", c.Name, c.Failure.Text)
		}
	}

	// With the credential from the environment the redacted request is
	// sent, and the credential is written nowhere.
	r := bodytapCmd(t, []string{"TOKEN=s3cret-token"}, "replay", "--db", db, "--to", v2URL, "--report", report,
		"--header", "Authorization: Bearer $TOKEN", "~u /api/me")
	if r.code != 0 || !strings.Contains(r.stdout, "1 same") {
		t.Errorf("replay with --header: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, _ = os.ReadFile(report)
	if strings.Contains(r.stdout+r.stderr+string(b), "s3cret") {
		t.Error("the --header credential was printed or written")
	}
	r = bodytapCmd(t, nil, "replay", "--db", db, "--to", v2URL, "--header", "Authorization: Bearer $TOKEN")
	if r.code != 2 || !strings.Contains(r.stderr, "$TOKEN is not set") {
		t.Errorf("replay with an unset $TOKEN: exit %d\n%s", r.code, r.stderr)
	}

	// The same from a HAR file, with an ignore rule instead of detection.
	harFile := filepath.Join(dir, "in.har")
	ok(t, "export", "--db", db, "--har", harFile)
	r = bodytapCmd(t, nil, "replay", "--har", harFile, "--to", v2URL, "--ignore", "$.plan", "--ignore", "$.ts",
		"--ignore", "$.request_id", "--ignore-header", "x-request-id", "~u /api/user")
	if r.code != 0 || !strings.Contains(r.stdout, "1 same, 0 changed") {
		t.Errorf("replay --har with --ignore: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.har")
	os.WriteFile(bad, []byte(`{"log":{"entries":[{"request":`), 0o600)
	if r = bodytapCmd(t, nil, "replay", "--har", bad, "--to", v2URL); r.code != 1 || !strings.Contains(r.stderr, "nothing sent") {
		t.Errorf("replay of a malformed HAR: exit %d\n%s", r.code, r.stderr)
	}
}

// checkReplay replays what replaySetup captured into db to version 2 with
// --detect-noise and args, and checks that it finds exactly the changed
// field, sends nothing unsafe, follows no redirect to the other host, and
// reports what is not replayable. args must write a --report.
func checkReplay(t *testing.T, db string, v2 *app, v2URL string, otherHits *atomic.Int32, args ...string) {
	t.Helper()
	r := bodytapCmd(t, nil, append([]string{"replay", "--db", db, "--to", v2URL, "--detect-noise", "!~u /slow"}, args...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "1 changed, 0 failed") {
		t.Fatalf("replay: exit %d, want 1 for one change\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "4 same, 1 changed, 0 failed, 1 skipped, 2 not replayable\ncompared in part only: 1 ") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	byPath := readReport(t, args[slices.Index(args, "--report")+1], v2URL)
	for path, want := range map[string]replay.Outcome{
		"/api/user/1": replay.Changed, "/api/list?page=2": replay.Same, "/hello": replay.Same, "/go": replay.Same, "/big": replay.Same,
		"/api/orders": replay.Skipped, "/api/me": replay.NotReplayable, "/upload": replay.NotReplayable,
	} {
		if got := byPath[path].Outcome; got != want {
			t.Errorf("%s: outcome %q (%s), want %q", path, got, byPath[path].Reason, want)
		}
	}
	user := byPath["/api/user/1"]
	if !slices.Equal(diffWhere(user.Diffs), []string{"$.plan"}) || user.Diffs[0].Recorded != `"free"` || user.Diffs[0].Got != `"pro"` {
		t.Errorf("changed: %+v, want exactly $.plan \"free\" -> \"pro\"", user.Diffs)
	}
	slices.Sort(user.Noise)
	if want := []string{"$.request_id", "$.ts", "header X-Request-Id"}; !slices.Equal(user.Noise, want) {
		t.Errorf("noise %q, want %q", user.Noise, want)
	}
	if want := "the body past the part kept at capture (1024 of 2590 bytes kept)"; byPath["/big"].NotCompared != want {
		t.Errorf("/big: not compared %q, want %q", byPath["/big"].NotCompared, want)
	}
	if !strings.Contains(byPath["/upload"].Reason, "truncated") || !strings.Contains(byPath["/api/me"].Reason, "Authorization") {
		t.Errorf("reasons: %q, %q", byPath["/upload"].Reason, byPath["/api/me"].Reason)
	}
	if n := v2.unsafe.Load(); n != 0 {
		t.Errorf("%d unsafe requests were sent without --allow-unsafe", n)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the redirect to another host was followed %d times", n)
	}
}

// readReport reads a --report file and returns its results by path and
// query, the target base taken off.
func readReport(t *testing.T, path, base string) map[string]replay.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep replay.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("--report: %v\n%s", err, b)
	}
	m := map[string]replay.Result{}
	for _, res := range rep.Results {
		m[strings.TrimPrefix(res.URL, base)] = res
	}
	return m
}

// diffWhere lists where each difference is.
func diffWhere(ds []replay.Diff) []string {
	var w []string
	for _, d := range ds {
		w = append(w, d.Where)
	}
	return w
}

// TestReplayInterrupt stops a replay with SIGINT while a request hangs: it
// exits at once with a partial report.
func TestReplayInterrupt(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "replay.db")
	v2, v2URL, _ := replaySetup(t, db)
	report := filepath.Join(dir, "out.json")
	cmd := exec.Command(binary, "replay", "--db", db, "--to", v2URL, "--concurrency", "1", "--report", report, "~u /hello | ~u /slow")
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-v2.slowHit:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("replay never sent /slow")
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "interrupted after 1 of 2") {
		t.Fatalf("replay after SIGINT: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep replay.Report
	if err := json.Unmarshal(b, &rep); err != nil || !rep.Interrupted || len(rep.Results) != 1 || rep.Results[0].Outcome != replay.Same {
		t.Errorf("partial report (%v):\n%s", err, b)
	}
}

// TestReplayRate checks that --rate paces the requests, counting both
// sends of --detect-noise: n sends at r a second take at least n/r
// seconds (the first waits a period too). Only the lower bound is
// checked: a busy machine may always be slower.
func TestReplayRate(t *testing.T) {
	var mu sync.Mutex
	var arrived []time.Time
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	defer up.Close()
	db := filepath.Join(t.TempDir(), "rate.db")
	p := startProxyProc(t, "--upstream", up.URL, "--db", db)
	const n = 6
	for i := range n {
		rawGet(t, fmt.Sprintf("%s/n/%d", p.url, i), false)
	}
	p.stop(t)

	tests := []struct {
		name  string
		args  []string
		sends int
		rate  float64
	}{
		{"one send each", []string{"--rate", "20/s"}, n, 20},
		{"two sends each with --detect-noise", []string{"--rate", "30", "--detect-noise"}, 2 * n, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			arrived = nil
			mu.Unlock()
			start := time.Now()
			r := bodytapCmd(t, nil, append([]string{"replay", "--db", db, "--to", up.URL, "--concurrency", "4"}, tt.args...)...)
			if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d same", n)) {
				t.Fatalf("replay %s: exit %d\n%s%s", strings.Join(tt.args, " "), r.code, r.stdout, r.stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(arrived) != tt.sends {
				t.Fatalf("%d requests arrived, want %d", len(arrived), tt.sends)
			}
			last := slices.MaxFunc(arrived, time.Time.Compare)
			want := time.Duration(float64(tt.sends) / tt.rate * float64(time.Second))
			if took := last.Sub(start); took < want {
				t.Errorf("%d requests at %v/s arrived within %v, want at least %v", tt.sends, tt.rate, took, want)
			}
		})
	}
}
