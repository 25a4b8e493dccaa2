package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // gzip-compressed gRPC requests
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/bodytap/bodytap"
)

// DefaultMaxRequestBytes is the default of [Receiver].MaxRequestBytes.
const DefaultMaxRequestBytes = 64 << 20

// LogsPath is the path of OTLP/HTTP log exports.
const LogsPath = "/v1/logs"

// A Receiver receives OTLP log exports, over HTTP (ServeHTTP: protobuf or
// JSON, gzip-compressed or not) and gRPC ([Receiver.GRPCServer]), and
// hands the records that are exchanges ([IsExchange]), converted back with
// [FromLogRecord], to its Sink. Records from other producers are ignored
// and counted.
//
// Every record is decoded on its own: one that is malformed (an attribute
// of the wrong type, a string that is not UTF-8) is rejected and the
// others are kept; the response's partial_success says how many were
// rejected, and why the first one was. A request that cannot be read at
// all (not protobuf or JSON, larger than MaxRequestBytes) fails as a whole
// with an OTLP error status: HTTP 400, 413 or 415 with a google.rpc.Status
// body, or gRPC InvalidArgument or ResourceExhausted.
//
// A Receiver is safe for concurrent use; the Sink is called from the
// goroutines that serve requests, so it must be too (a store is).
type Receiver struct {
	// Sink receives the exchanges of each request, in one RecordBatch
	// call.
	Sink bodytap.BatchSink

	// MaxRequestBytes caps a request's body, and its size once
	// decompressed. 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64

	// Token, if not empty, is required of every request as
	// "Authorization: Bearer TOKEN" (gRPC metadata "authorization").
	Token string

	requests, exchanges, ignored, rejected, failed atomic.Int64
}

// ReceiverStats counts what a [Receiver] did.
type ReceiverStats struct {
	Requests  int64 // export requests received
	Exchanges int64 // exchanges handed to the Sink
	Ignored   int64 // records of other producers
	Rejected  int64 // records of exchanges that could not be decoded
	Failed    int64 // requests refused whole: malformed, too large, unauthorized
}

// Stats reports counts since the Receiver was made.
func (rv *Receiver) Stats() ReceiverStats {
	return ReceiverStats{
		Requests:  rv.requests.Load(),
		Exchanges: rv.exchanges.Load(),
		Ignored:   rv.ignored.Load(),
		Rejected:  rv.rejected.Load(),
		Failed:    rv.failed.Load(),
	}
}

func (rv *Receiver) maxBytes() int64 {
	if rv.MaxRequestBytes > 0 {
		return rv.MaxRequestBytes
	}
	return DefaultMaxRequestBytes
}

// authorized reports whether auth, an Authorization header's value,
// carries the Token.
func (rv *Receiver) authorized(auth string) bool {
	if rv.Token == "" {
		return true
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(rv.Token)) == 1
}

// errTooLarge is the error of a request past MaxRequestBytes.
var errTooLarge = errors.New("request larger than the receiver accepts")

// ServeHTTP receives an OTLP/HTTP log export (POST /v1/logs; the path is
// not checked, so that the Receiver can be mounted anywhere).
func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rv.requests.Add(1)
	isJSON := false
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-protobuf", "application/protobuf":
	case "application/json":
		isJSON = true
	default:
		rv.failed.Add(1)
		writeHTTPStatus(w, false, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported Content-Type %q: want application/x-protobuf or application/json", r.Header.Get("Content-Type")))
		return
	}
	if r.Method != http.MethodPost {
		rv.failed.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		writeHTTPStatus(w, isJSON, http.StatusMethodNotAllowed, codes.InvalidArgument, "method "+r.Method+" not allowed: OTLP exports are POSTed")
		return
	}
	if !rv.authorized(r.Header.Get("Authorization")) {
		rv.failed.Add(1)
		writeHTTPStatus(w, isJSON, http.StatusUnauthorized, codes.Unauthenticated, "missing or wrong bearer token")
		return
	}
	body, err := rv.readBody(w, r)
	if err != nil {
		rv.failed.Add(1)
		code := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		writeHTTPStatus(w, isJSON, code, codes.InvalidArgument, err.Error())
		return
	}
	var records [][]byte
	decode := unmarshalProto
	if isJSON {
		records, err = splitJSON(body)
		decode = unmarshalJSON
	} else {
		records, err = splitProto(body)
	}
	if err != nil {
		rv.failed.Add(1)
		writeHTTPStatus(w, isJSON, http.StatusBadRequest, codes.InvalidArgument, "malformed export request: "+err.Error())
		return
	}
	resp := rv.receive(records, decode)
	var out []byte
	if isJSON {
		out, err = protojson.Marshal(resp)
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, err = proto.Marshal(resp)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(out)
}

// readBody reads r's body, gunzipped if it is gzip, up to MaxRequestBytes.
func (rv *Receiver) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	max := rv.maxBytes()
	var in io.Reader = http.MaxBytesReader(w, r.Body, max)
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", tooLarge(err))
		}
		in = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q: want gzip or none", ce)
	}
	b, err := io.ReadAll(io.LimitReader(in, max+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", tooLarge(err))
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes decompressed", errTooLarge, max)
	}
	return b, nil
}

// tooLarge returns errTooLarge for the error of a MaxBytesReader, err
// otherwise.
func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: more than %d bytes", errTooLarge, mbe.Limit)
	}
	return err
}

// writeHTTPStatus writes an OTLP/HTTP error: a google.rpc.Status in the
// request's encoding.
func writeHTTPStatus(w http.ResponseWriter, isJSON bool, httpCode int, code codes.Code, msg string) {
	st := status.New(code, msg).Proto()
	var b []byte
	if isJSON {
		b, _ = protojson.Marshal(st)
		w.Header().Set("Content-Type", "application/json")
	} else {
		b, _ = proto.Marshal(st)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	w.WriteHeader(httpCode)
	w.Write(b)
}

// receive decodes each record, hands the exchanges to the Sink, and
// returns the response.
func (rv *Receiver) receive(records [][]byte, decode func([]byte, *logspb.LogRecord) error) *collogspb.ExportLogsServiceResponse {
	var xs []*bodytap.Exchange
	var rejected int64
	var firstErr error
	reject := func(i int, err error) {
		rejected++
		if firstErr == nil {
			firstErr = fmt.Errorf("log record %d: %w", i, err)
		}
	}
	for i, raw := range records {
		lr := new(logspb.LogRecord)
		if err := decode(raw, lr); err != nil {
			reject(i, err)
			continue
		}
		if !IsExchange(lr) {
			rv.ignored.Add(1)
			continue
		}
		x, err := FromLogRecord(lr)
		if err != nil {
			reject(i, err)
			continue
		}
		xs = append(xs, x)
	}
	if len(xs) > 0 && rv.Sink != nil {
		rv.Sink.RecordBatch(xs)
	}
	rv.exchanges.Add(int64(len(xs)))
	rv.rejected.Add(rejected)
	resp := new(collogspb.ExportLogsServiceResponse)
	if rejected > 0 {
		resp.PartialSuccess = &collogspb.ExportLogsPartialSuccess{
			RejectedLogRecords: rejected,
			ErrorMessage:       firstErr.Error(),
		}
	}
	return resp
}

// Field numbers of the OTLP messages splitProto walks.
const (
	fieldResourceLogs = 1 // ExportLogsServiceRequest.resource_logs
	fieldScopeLogs    = 2 // ResourceLogs.scope_logs
	fieldLogRecords   = 2 // ScopeLogs.log_records
)

// splitProto returns the encoded LogRecords of an ExportLogsServiceRequest
// in protobuf, without decoding them, so that each is decoded on its own
// and one bad record loses no other.
func splitProto(b []byte) ([][]byte, error) {
	var records [][]byte
	err := eachField(b, fieldResourceLogs, func(rl []byte) error {
		return eachField(rl, fieldScopeLogs, func(sl []byte) error {
			return eachField(sl, fieldLogRecords, func(lr []byte) error {
				records = append(records, lr)
				return nil
			})
		})
	})
	return records, err
}

// eachField calls f with the bytes of each length-delimited field num of
// the message in b, skipping other fields.
func eachField(b []byte, num protowire.Number, f func([]byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			if err := f(v); err != nil {
				return err
			}
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil
}

func unmarshalProto(b []byte, lr *logspb.LogRecord) error {
	return proto.Unmarshal(b, lr)
}

// splitJSON returns the LogRecords of an ExportLogsServiceRequest in
// OTLP/JSON, undecoded.
func splitJSON(b []byte) ([][]byte, error) {
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []json.RawMessage `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, err
	}
	var records [][]byte
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				records = append(records, lr)
			}
		}
	}
	return records, nil
}

// unmarshalJSON decodes a LogRecord in OTLP/JSON, where, unlike in
// protobuf's JSON mapping, trace and span IDs are hex rather than base64.
func unmarshalJSON(b []byte, lr *logspb.LogRecord) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	changed := false
	for _, k := range []string{"traceId", "spanId", "trace_id", "span_id"} {
		raw, ok := fields[k]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		id, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s: not hex: %w", k, err)
		}
		fields[k], _ = json.Marshal(base64.StdEncoding.EncodeToString(id))
		changed = true
	}
	if changed {
		var err error
		if b, err = json.Marshal(fields); err != nil {
			return err
		}
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, lr)
}

// rawRequest is what the gRPC service decodes an export request into: its
// bytes, split by splitProto.
type rawRequest struct{ b []byte }

// rawCodec is the gRPC codec of a Receiver's server: it leaves requests
// undecoded (rawRequest) and encodes responses as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("otlp: cannot encode %T", v)
	}
	return proto.Marshal(m)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	switch v := v.(type) {
	case *rawRequest:
		v.b = bytes.Clone(data)
		return nil
	case proto.Message:
		return proto.Unmarshal(data, v)
	}
	return fmt.Errorf("otlp: cannot decode into %T", v)
}

// GRPCServer returns a gRPC server with the OTLP logs service, receiving
// into rv; serve it on a listener with its Serve method. opts are added to
// the Receiver's own (its codec, the request size cap). Gzip-compressed
// requests are accepted.
func (rv *Receiver) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(int(min(rv.maxBytes(), 1<<31-1))),
	}, opts...)
	s := grpc.NewServer(opts...)
	s.RegisterService(&logsServiceDesc, rv)
	return s
}

// exportGRPC serves LogsService/Export.
func (rv *Receiver) exportGRPC(ctx context.Context, req *rawRequest) (*collogspb.ExportLogsServiceResponse, error) {
	rv.requests.Add(1)
	if rv.Token != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		auth := md.Get("authorization")
		if len(auth) != 1 || !rv.authorized(auth[0]) {
			rv.failed.Add(1)
			return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token")
		}
	}
	records, err := splitProto(req.b)
	if err != nil {
		rv.failed.Add(1)
		return nil, status.Error(codes.InvalidArgument, "malformed export request: "+err.Error())
	}
	return rv.receive(records, unmarshalProto), nil
}

// logsServiceDesc is opentelemetry.proto.collector.logs.v1.LogsService,
// as the generated code describes it, with requests left as rawRequest.
var logsServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.logs.v1.LogsService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			rv := srv.(*Receiver)
			if interceptor == nil {
				return rv.exportGRPC(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/opentelemetry.proto.collector.logs.v1.LogsService/Export"}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return rv.exportGRPC(ctx, req.(*rawRequest))
			})
		},
	}},
	Metadata: "opentelemetry/proto/collector/logs/v1/logs_service.proto",
}
