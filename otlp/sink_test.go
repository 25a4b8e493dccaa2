package otlp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/otlp"
)

// blockingExporter blocks every export until release is closed.
type blockingExporter struct {
	release chan struct{}
	once    sync.Once
}

func (e *blockingExporter) Export(ctx context.Context, records []sdklog.Record) error {
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
func (e *blockingExporter) Shutdown(context.Context) error   { return nil }
func (e *blockingExporter) ForceFlush(context.Context) error { return nil }
func (e *blockingExporter) unblock()                         { e.once.Do(func() { close(e.release) }) }

// TestDropsWhenFull: with the exporter stuck, Record returns at once and
// drops, and counts, what does not fit in the queue, by records and by
// bytes.
func TestDropsWhenFull(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  otlp.Config
		body int
	}{
		{"records", otlp.Config{MaxQueue: 8}, 0},
		{"bytes", otlp.Config{MaxQueueBytes: 64 << 10}, 16 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exp := &blockingExporter{release: make(chan struct{})}
			defer exp.unblock()
			tt.cfg.Exporter = exp
			tt.cfg.Interval = time.Millisecond
			s := newSink(t, tt.cfg)
			const n = 1000
			start := time.Now()
			for range n {
				x := full(t)
				x.Response.Body.Bytes = make([]byte, tt.body)
				s.Record(x)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%d records took %v with the exporter stuck", n, d)
			}
			st := s.Stats()
			if st.Dropped < n/2 || st.Queued > 8 && tt.name == "records" || st.Bytes > 64<<10+recordOverheadGuess {
				t.Errorf("stats %+v", st)
			}
			exp.unblock()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			st = s.Stats()
			if st.Exported+st.Dropped+st.Failed != n || st.Queued != 0 {
				t.Errorf("after Close: %+v, want all %d accounted for", st, n)
			}
		})
	}
}

// recordOverheadGuess is the slack of one record past MaxQueueBytes.
const recordOverheadGuess = 20 << 10

// TestTapToReceiver runs a Tap in front of a handler, exporting to a
// Receiver: the exchange arrives with the client's trace ID, its bodies,
// and its secrets redacted.
func TestTapToReceiver(t *testing.T) {
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			rv := startReceiver(t, "")
			url := rv.httpURL
			if transport == "grpc" {
				url = rv.grpcURL
			}
			sink := newSink(t, otlp.Config{URL: url})
			tap := bodytap.New(bodytap.Config{Sink: sink})
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"ok":true,"token":"sk_live_abcdefghijklmnopqrstuvwx"}`))
			})
			srv := httptest.NewServer(tap.Handler(app))
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(`{"user":"ada","password":"hunter2"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer abc.def.ghi")
			const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			req.Header.Set("Traceparent", tp)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := tap.Close(); err != nil {
				t.Fatal(err)
			}
			flush(t, sink)
			got := rv.sink.all()
			if len(got) != 1 {
				t.Fatalf("received %d exchanges, want 1", len(got))
			}
			x := got[0]
			if x.Trace.String() != tp {
				t.Errorf("trace %q, want %q", x.Trace, tp)
			}
			line, _ := jsonl.Marshal(x)
			for _, secret := range []string{"hunter2", "abc.def.ghi", "sk_live_abcdefghijklmnopqrstuvwx"} {
				if strings.Contains(string(line), secret) {
					t.Errorf("secret %q exported: %s", secret, line)
				}
			}
			if !strings.Contains(string(x.Request.Body.Bytes), `"user":"ada"`) || !x.Request.Body.Redacted {
				t.Errorf("request body %q, redacted %v", x.Request.Body.Bytes, x.Request.Body.Redacted)
			}
			if x.Response.Status != 200 || x.Request.URL.Path != "/login" {
				t.Errorf("status %d, path %q", x.Response.Status, x.Request.URL.Path)
			}
		})
	}
}
