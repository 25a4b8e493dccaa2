package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/otlp"
)

// capture is an OTLP/HTTP endpoint that keeps the requests it receives.
type capture struct {
	mu   sync.Mutex
	reqs []*collogspb.ExportLogsServiceRequest
	url  string
}

func startCapture(tb testing.TB) *capture {
	tb.Helper()
	c := new(capture)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := new(collogspb.ExportLogsServiceRequest)
		if err := proto.Unmarshal(b, req); err != nil {
			tb.Errorf("capture: %v", err)
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, req)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	tb.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *capture) records() []*logspb.LogRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*logspb.LogRecord
	for _, req := range c.reqs {
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				out = append(out, sl.LogRecords...)
			}
		}
	}
	return out
}

func attrs(lr *logspb.LogRecord) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range lr.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestRecordAttributes checks the record of a full exchange against the
// semantic conventions and the package doc.
func TestRecordAttributes(t *testing.T) {
	c := startCapture(t)
	s := newSink(t, otlp.Config{URL: c.url})
	x := full(t)
	x.Response.Status = 503
	bin := &bodytap.Exchange{ID: bodytap.NewID(time.Now()), Start: time.Now(),
		Request:  bodytap.Request{Method: "PROPFIND", Proto: "HTTP/2.0"},
		Response: bodytap.Response{Status: 404, Header: http.Header{"Content-Type": {"image/png"}}, Body: bodytap.Body{Bytes: []byte("\x89PNG\r\n\x1a\n\x00"), Size: 9}}}
	s.RecordBatch([]*bodytap.Exchange{x, bin})
	flush(t, s)
	recs := c.records()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	lr, a := recs[0], attrs(recs[0])
	if lr.EventName != otlp.EventName {
		t.Errorf("event name %q", lr.EventName)
	}
	if got := hex.EncodeToString(lr.TraceId); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace ID %s", got)
	}
	if got := hex.EncodeToString(lr.SpanId); got != "00f067aa0ba902b7" || lr.Flags != 1 {
		t.Errorf("span ID %s, flags %d", got, lr.Flags)
	}
	if lr.TimeUnixNano != uint64(x.Start.UnixNano()) || lr.ObservedTimeUnixNano != lr.TimeUnixNano {
		t.Errorf("times %d, %d, want %d", lr.TimeUnixNano, lr.ObservedTimeUnixNano, x.Start.UnixNano())
	}
	if lr.SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_ERROR || lr.SeverityText != "ERROR" {
		t.Errorf("severity %v %q", lr.SeverityNumber, lr.SeverityText)
	}
	if got := lr.Body.GetStringValue(); got != "POST http://example.com/items/7?q=1 503" {
		t.Errorf("body %q", got)
	}
	str := map[string]string{
		"http.request.method":        "POST",
		"url.full":                   "http://example.com/items/7?q=1",
		"url.scheme":                 "http",
		"url.path":                   "/items/7",
		"url.query":                  "q=1",
		"http.route":                 "/items/{id}",
		"bodytap.route":              "POST /items/{id}",
		"network.protocol.name":      "http",
		"network.protocol.version":   "1.1",
		"client.address":             "192.0.2.1",
		"server.address":             "example.com",
		"http.request.body.content":  "{\"name\":1}\n",
		"http.response.body.content": "created <ok> & done",
		"error.type":                 "503",
		"bodytap.id":                 x.ID.String(),
	}
	for k, want := range str {
		if got := a[k].GetStringValue(); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	ints := map[string]int64{
		"http.response.status_code":      503,
		"http.request.body.size":         11,
		"http.response.body.size":        19,
		"client.port":                    53412,
		"bodytap.duration_ns":            1500000,
		"bodytap.time_to_headers_ns":     900000,
		"bodytap.request.content_length": 11,
	}
	for k, want := range ints {
		if got := a[k].GetIntValue(); got != want {
			t.Errorf("%s: got %d, want %d", k, got, want)
		}
	}
	if !a["bodytap.request.body.eof"].GetBoolValue() || a["bodytap.request.body.truncated"] != nil {
		t.Errorf("body flags: eof %v, truncated %v", a["bodytap.request.body.eof"], a["bodytap.request.body.truncated"])
	}
	h := a["bodytap.request.header"].GetKvlistValue().GetValues()
	if len(h) != 2 || h[0].Key != "Content-Type" || h[1].Key != "X-Trace" || len(h[1].Value.GetArrayValue().GetValues()) != 2 {
		t.Errorf("request header %v", h)
	}
	if a["bodytap.response.informational"].GetArrayValue() == nil || a["bodytap.detected"].GetArrayValue() == nil {
		t.Errorf("informational %v, detected %v", a["bodytap.response.informational"], a["bodytap.detected"])
	}

	lr, a = recs[1], attrs(recs[1])
	if lr.SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_WARN {
		t.Errorf("404 severity %v", lr.SeverityNumber)
	}
	if got := a["http.response.body.content"].GetBytesValue(); !bytes.Equal(got, bin.Response.Body.Bytes) {
		t.Errorf("binary body: got %v, want the bytes themselves", a["http.response.body.content"])
	}
	if a["http.request.method"].GetStringValue() != "_OTHER" || a["http.request.method_original"].GetStringValue() != "PROPFIND" {
		t.Errorf("method %v, original %v", a["http.request.method"], a["http.request.method_original"])
	}
	if a["network.protocol.version"].GetStringValue() != "2" {
		t.Errorf("protocol version %v", a["network.protocol.version"])
	}
}

// TestIgnoresOtherProducers sends ordinary log records along with an
// exchange: they are counted, not stored.
func TestIgnoresOtherProducers(t *testing.T) {
	rv := startReceiver(t, "")
	exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(rv.httpURL+otlp.LogsPath))
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	defer lp.Shutdown(context.Background())
	var r log.Record
	r.SetBody(log.StringValue("hello"))
	r.SetEventName("app.event")
	lp.Logger("app").Emit(context.Background(), r)
	r.SetEventName("")
	lp.Logger("app").Emit(context.Background(), r)
	ctx, rec := otlp.NewRecord(context.Background(), full(t))
	lp.Logger("app").Emit(ctx, rec)
	if st := rv.Stats(); st.Ignored != 2 || st.Exchanges != 1 {
		t.Errorf("stats %+v, want 2 ignored, 1 exchange", st)
	}
}

// post sends body to the receiver's OTLP/HTTP endpoint.
func post(t *testing.T, url, contentType, encoding string, body []byte, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+otlp.LogsPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// exportRequest returns an export request with the records of xs, and
// then extra.
func exportRequest(t *testing.T, xs []*bodytap.Exchange, extra ...*logspb.LogRecord) *collogspb.ExportLogsServiceRequest {
	t.Helper()
	c := startCapture(t)
	s := newSink(t, otlp.Config{URL: c.url})
	s.RecordBatch(xs)
	flush(t, s)
	recs := append(c.records(), extra...)
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}}
}

// invalidUTF8 returns b, the protobuf encoding of a request, with the
// bytes of marker replaced by invalid UTF-8 of the same length.
func invalidUTF8(t *testing.T, b []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		t.Fatal("marker not found")
	}
	b = bytes.Clone(b)
	copy(b[i:], bytes.Repeat([]byte{0xff}, len(marker)))
	return b
}

// TestBadRequests sends what a receiver must refuse, whole or in part,
// with a clear OTLP status, losing nothing else.
func TestBadRequests(t *testing.T) {
	rv := startReceiver(t, "")
	ok := full(t)
	bad := full(t)
	bad.ID[15] = 2
	bad.Route = "/MARKER-MARKER"
	req := exportRequest(t, []*bodytap.Exchange{ok, bad})
	pb, _ := proto.Marshal(req)
	small := &otlp.Receiver{Sink: new(memSink), MaxRequestBytes: 100}
	smallSrv := httptest.NewServer(small)
	defer smallSrv.Close()

	tests := []struct {
		name        string
		url         string
		contentType string
		encoding    string
		body        []byte
		status      int
		message     string // in the google.rpc.Status, or the partial success
		stored      int
	}{
		{"not protobuf", rv.httpURL, "application/x-protobuf", "", []byte("\xff\xff\xff"), 400, "malformed export request", 0},
		{"not JSON", rv.httpURL, "application/json", "", []byte("{"), 400, "malformed export request", 0},
		{"content type", rv.httpURL, "text/plain", "", pb, 415, "unsupported Content-Type", 0},
		{"content encoding", rv.httpURL, "application/x-protobuf", "br", pb, 400, "unsupported Content-Encoding", 0},
		{"too large", smallSrv.URL, "application/x-protobuf", "", pb, 413, "larger than the receiver accepts", 0},
		{"too large gzipped", smallSrv.URL, "application/x-protobuf", "gzip", gzipped(pb), 413, "larger than the receiver accepts", 0},
		{"invalid UTF-8", rv.httpURL, "application/x-protobuf", "", invalidUTF8(t, pb, "MARKER-MARKER"), 200, "log record 1: ", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rv.sink.all())
			resp, body := post(t, tt.url, tt.contentType, tt.encoding, tt.body, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			var msg string
			if tt.status == 200 {
				var out collogspb.ExportLogsServiceResponse
				if err := proto.Unmarshal(body, &out); err != nil {
					t.Fatal(err)
				}
				msg = out.GetPartialSuccess().GetErrorMessage()
				if out.GetPartialSuccess().GetRejectedLogRecords() != 1 {
					t.Errorf("partial success %v, want 1 rejected", out.GetPartialSuccess())
				}
			} else {
				var st spb.Status
				unmarshal := proto.Unmarshal
				if resp.Header.Get("Content-Type") == "application/json" {
					unmarshal = protojson.Unmarshal
				}
				if err := unmarshal(body, &st); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				msg = st.Message
			}
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want it to contain %q", msg, tt.message)
			}
			if got := len(rv.sink.all()) - before; got != tt.stored {
				t.Errorf("stored %d, want %d", got, tt.stored)
			}
		})
	}

	t.Run("grpc invalid UTF-8", func(t *testing.T) {
		conn, err := grpc.NewClient(strings.TrimPrefix(rv.grpcURL, "grpc://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		before := len(rv.sink.all())
		var out collogspb.ExportLogsServiceResponse
		err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
			rawMessage(invalidUTF8(t, pb, "MARKER-MARKER")), &out, grpc.ForceCodec(bytesCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		if out.GetPartialSuccess().GetRejectedLogRecords() != 1 || len(rv.sink.all())-before != 1 {
			t.Errorf("partial success %v, stored %d", out.GetPartialSuccess(), len(rv.sink.all())-before)
		}
		err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
			rawMessage("\xff\xff"), &out, grpc.ForceCodec(bytesCodec{}))
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("malformed: %v, want InvalidArgument", err)
		}
	})
}

// TestJSON sends a request in OTLP/JSON, with hex trace IDs.
func TestJSON(t *testing.T) {
	rv := startReceiver(t, "")
	want := full(t)
	req := exportRequest(t, []*bodytap.Exchange{want})
	b, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	// protojson writes IDs in base64; OTLP/JSON wants them in hex.
	lr := req.ResourceLogs[0].ScopeLogs[0].LogRecords[0]
	for _, id := range [][]byte{lr.TraceId, lr.SpanId} {
		b64, _ := protojson.Marshal(&commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: id}})
		enc := strings.TrimSuffix(strings.TrimPrefix(string(b64), `{"bytesValue":`), "}")
		b = bytes.Replace(b, []byte(enc), []byte(`"`+hex.EncodeToString(id)+`"`), 1)
	}
	resp, body := post(t, rv.httpURL, "application/json", "gzip", gzipped(b), "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	got := rv.sink.all()
	if len(got) != 1 {
		t.Fatalf("got %d exchanges", len(got))
	}
	same(t, got[0], want)
}

// TestToken: with a token, a request without it is refused, over HTTP
// and gRPC, and the Sink's headers carry it.
func TestToken(t *testing.T) {
	rv := startReceiver(t, "s3cret")
	resp, _ := post(t, rv.httpURL, "application/x-protobuf", "", nil, "")
	if resp.StatusCode != 401 {
		t.Errorf("HTTP without token: %d", resp.StatusCode)
	}
	resp, _ = post(t, rv.httpURL, "application/x-protobuf", "", nil, "wrong")
	if resp.StatusCode != 401 {
		t.Errorf("HTTP with a wrong token: %d", resp.StatusCode)
	}
	for _, url := range []string{rv.httpURL, rv.grpcURL} {
		s := newSink(t, otlp.Config{URL: url, Headers: map[string]string{"Authorization": "Bearer s3cret"}})
		s.Record(full(t))
		flush(t, s)
		if st := s.Stats(); st.Exported != 1 {
			t.Errorf("%s with token: %+v", url, st)
		}
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(rv.grpcURL, "grpc://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer nope")
	err = conn.Invoke(ctx, "/opentelemetry.proto.collector.logs.v1.LogsService/Export", &collogspb.ExportLogsServiceRequest{}, new(collogspb.ExportLogsServiceResponse))
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC with a wrong token: %v", err)
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// rawMessage and bytesCodec send bytes as they are over gRPC.
type rawMessage []byte

type bytesCodec struct{}

func (bytesCodec) Name() string { return "proto" }
func (bytesCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(rawMessage); ok {
		return m, nil
	}
	return proto.Marshal(v.(proto.Message))
}
func (bytesCodec) Unmarshal(b []byte, v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
