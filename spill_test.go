package bodytap

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func spillFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "bodytap-*.spill"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// bigBody answers with n bytes of a pattern, through Write or ReadFrom.
func bigBody(n int, readFrom bool) http.Handler {
	data := bytes.Repeat([]byte("0123456789abcdef"), n/16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if readFrom {
			io.Copy(w, bytes.NewReader(data))
			return
		}
		for p := data; len(p) > 0; {
			k := min(len(p), 1000)
			w.Write(p[:k])
			p = p[k:]
		}
	})
}

func TestSpillWholeBody(t *testing.T) {
	for _, readFrom := range []bool{false, true} {
		name := "write"
		if readFrom {
			name = "readfrom"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			const size = 1 << 20
			col := newCollector()
			tap := New(Config{Sink: col, MaxBodyBytes: 100, SpillDir: dir})
			srv, client := newServer(t, tap.Handler(bigBody(size, readFrom)), false)
			reqBody := strings.Repeat("r", 5000)
			resp, err := client.Post(srv.URL, "text/plain", strings.NewReader(reqBody))
			if err != nil {
				t.Fatal(err)
			}
			wire, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			x := col.next(t)
			b := x.Response.Body
			if len(b.Bytes) != 100 || b.Spilled() != size-100 || b.Truncated || b.Err != nil {
				t.Fatalf("body: kept %d, spilled %d, truncated %v, err %v; want 100, %d, false, nil", len(b.Bytes), b.Spilled(), b.Truncated, b.Err, size-100)
			}
			rc, err := b.Open()
			if err != nil {
				t.Fatal(err)
			}
			whole, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(whole, wire) {
				t.Errorf("Open read %d bytes that differ from the %d on the wire", len(whole), len(wire))
			}
			rq, _ := x.Request.Body.Open()
			gotReq, _ := io.ReadAll(rq)
			if string(gotReq) != reqBody {
				t.Errorf("request body through Open: %d bytes, want %d", len(gotReq), len(reqBody))
			}
			if n := len(spillFiles(t, dir)); n != 2 {
				t.Errorf("%d spill files before release, want 2", n)
			}
			x.Release()
			if files := spillFiles(t, dir); len(files) != 0 {
				t.Errorf("spill files left after Release: %v", files)
			}
			if _, err := b.Open(); !errors.Is(err, ErrReleased) {
				t.Errorf("Open after Release: got %v, want ErrReleased", err)
			}
			tap.Close()
		})
	}
}

func TestSpillQuotaAndCap(t *testing.T) {
	dir := t.TempDir()
	col := newCollector()
	tap := New(Config{Sink: col, MaxBodyBytes: 10, SpillDir: dir, MaxSpillBytes: 1000, SpillQuota: 1500})
	defer tap.Close()
	h := tap.Handler(bigBody(4096, false))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.Len() != 4096 {
		t.Fatalf("client got %d bytes, want 4096: the response must be untouched", rec.Body.Len())
	}
	x1 := col.next(t)
	if x1.Response.Body.Spilled() != 1000 || !x1.Response.Body.Truncated || !errors.Is(x1.Response.Body.Err, ErrSpillQuota) {
		t.Errorf("per-body cap: spilled %d, truncated %v, err %v; want 1000, true, ErrSpillQuota",
			x1.Response.Body.Spilled(), x1.Response.Body.Truncated, x1.Response.Body.Err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	x2 := col.next(t)
	if x2.Response.Body.Spilled() != 500 {
		t.Errorf("quota: second body spilled %d, want the 500 left", x2.Response.Body.Spilled())
	}
	x1.Release()
	x2.Release()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	x3 := col.next(t)
	if x3.Response.Body.Spilled() != 1000 {
		t.Errorf("after release: spilled %d, want 1000 (quota returned)", x3.Response.Body.Spilled())
	}
	x3.Release()
}

func TestSpillRemovedWhenDropped(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	tap := New(Config{Sink: SinkFunc(func(x *Exchange) { <-release; x.Release() }), MaxBodyBytes: 10, SpillDir: dir, QueueLen: 1})
	h := tap.Handler(bigBody(4096, false))
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	// One in the sink, none queued beside it (QueueLen 1 counts it): the
	// other nine were dropped and their files removed.
	if n := len(spillFiles(t, dir)); n > 1 {
		t.Errorf("%d spill files with one record held, want at most 1", n)
	}
	close(release)
	tap.Close()
	if n := len(spillFiles(t, dir)); n != 0 {
		t.Errorf("%d spill files after every record was released", n)
	}
	// Records skipped by rules never leave files either.
	tap2 := New(Config{MaxBodyBytes: 10, SpillDir: dir, Rules: []Rule{{MinResponseSize: 1, Action: Skip}}})
	tap2.Handler(bigBody(4096, false)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	tap2.Close()
	if n := len(spillFiles(t, dir)); n != 0 {
		t.Errorf("%d spill files after a skipped record", n)
	}
}

func TestSpillLeftoversRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "bodytap-123.spill")
	other := filepath.Join(dir, "keep.txt")
	os.WriteFile(old, []byte("left by a crash"), 0o600)
	os.WriteFile(other, []byte("not ours"), 0o600)
	New(Config{SpillDir: dir}).Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("leftover spill file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file that is not a spill file was removed: %v", err)
	}
}

func TestSpillDiskErrorLeavesResponseUntouched(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, nil, 0o600)
	col := newCollector()
	tap := New(Config{Sink: col, MaxBodyBytes: 10, SpillDir: notADir})
	defer tap.Close()
	rec := httptest.NewRecorder()
	tap.Handler(bigBody(4096, false)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.Len() != 4096 {
		t.Fatalf("client got %d bytes, want 4096", rec.Body.Len())
	}
	x := col.next(t)
	if b := x.Response.Body; b.Err == nil || !b.Truncated || len(b.Bytes) != 10 {
		t.Errorf("body: err %v, truncated %v, kept %d; want an error, true, 10", b.Err, b.Truncated, len(b.Bytes))
	}
}
