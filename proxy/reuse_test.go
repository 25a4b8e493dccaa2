package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/proxy"
	"github.com/bodytap/bodytap/store"
)

// TestStoreReusedExchanges runs a proxy capturing into a real store,
// whose promise to keep nothing of an exchange lets the proxy's Tap
// reuse exchanges (and their body buffers), under concurrent requests
// whose bodies all differ, and checks that every stored exchange holds
// the bodies and header of its own request and response: a buffer
// reused while the store still held it would show up as another
// request's bytes.
func TestStoreReusedExchanges(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seq", r.Header.Get("X-Seq"))
		fmt.Fprintf(w, `{"echo":%q,"seq":%q}`, b, r.Header.Get("X-Seq"))
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	st, err := store.Open(filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := proxy.New(proxy.Config{Upstream: u, Tap: bodytap.Config{Sink: st}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	const workers, each = 8, 100
	body := func(seq int) string {
		return fmt.Sprintf(`{"seq":%d,"pad":%q}`, seq, bytes.Repeat([]byte{byte('a' + seq%26)}, 100+seq%700))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq := w*each + i
				req, _ := http.NewRequest("POST", srv.URL+"/items", bytes.NewBufferString(body(seq)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Seq", fmt.Sprint(seq))
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	srv.Close()
	p.Close()
	ctx := context.Background()
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sums, err := st.List(ctx, store.Query{Limit: workers * each})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != workers*each {
		t.Fatalf("stored %d exchanges, want %d", len(sums), workers*each)
	}
	seen := make(map[string]bool)
	for _, s := range sums {
		x, err := st.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		seq := x.Request.Header.Get("X-Seq")
		var n int
		fmt.Sscan(seq, &n)
		want := body(n)
		if got := string(x.Request.Body.Bytes); got != want {
			t.Errorf("exchange of request %s: request body %.60q..., want %.60q...", seq, got, want)
		}
		if got := x.Response.Header.Get("X-Seq"); got != seq {
			t.Errorf("exchange of request %s: response X-Seq %q", seq, got)
		}
		if wantResp := fmt.Sprintf(`{"echo":%q,"seq":%q}`, want, seq); string(x.Response.Body.Bytes) != wantResp {
			t.Errorf("exchange of request %s: response body %.60q...", seq, x.Response.Body.Bytes)
		}
		if seen[seq] {
			t.Errorf("request %s stored twice", seq)
		}
		seen[seq] = true
	}
}
