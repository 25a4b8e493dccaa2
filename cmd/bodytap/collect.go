package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/bodytap/bodytap/internal/metrics"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web"
)

// runCollect receives OTLP log exports and stores the exchanges among
// them: the end of a fleet's pipeline (services → OpenTelemetry Collector
// → bodytap collect → store).
func runCollect(ctx context.Context, e *env, args []string) error {
	fs := newFlags("collect")
	db := dbFlag(fs)
	httpAddr := fs.String("http", "127.0.0.1:4318", "receive OTLP/HTTP (protobuf or JSON, POST /v1/logs) on this `address`, and serve Prometheus metrics on its /metrics; empty: not at all")
	grpcAddr := fs.String("grpc", "127.0.0.1:4317", "receive OTLP/gRPC on this `address`; empty: not at all")
	token := fs.String("token", "", "`secret` senders must give as 'Authorization: Bearer TOKEN'; required to listen beyond loopback")
	maxReq := sizeFlag(otlp.DefaultMaxRequestBytes)
	fs.Var(&maxReq, "max-request", "refuse export requests larger than this `size`, compressed or not")
	var keepFor time.Duration
	var keepBytes sizeFlag
	fs.Var((*durationFlag)(&keepFor), "keep-for", "delete exchanges older than this `duration`, such as 12h, 7d or 2w (0: keep them)")
	keepCount := fs.Int64("keep-count", 0, "keep at most `N` exchanges, deleting the oldest (0: no limit)")
	fs.Var(&keepBytes, "keep-bytes", "keep the store under this `size`, such as 1GiB, deleting the oldest (0: no limit)")
	spool := addSpoolFlags(fs)
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *httpAddr == "" && *grpcAddr == "" {
		return usagef("--http and --grpc are both empty: nothing to receive on")
	}
	for _, a := range []struct{ flag, addr string }{{"--http", *httpAddr}, {"--grpc", *grpcAddr}} {
		if err := checkCollectBind(a.flag, a.addr, *token); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	st, err := openWriter(ctx, *db, store.Options{MaxAge: keepFor, MaxCount: *keepCount, MaxBytes: int64(keepBytes), Logger: logger}, spool)
	if err != nil {
		return err
	}
	rv := &otlp.Receiver{Sink: st, MaxRequestBytes: int64(maxReq), Token: *token}
	m := metricsHandler(*token, func() []metrics.Family { return joinFamilies(receiverFamilies(rv), storeFamilies(st, *db)) })
	c, err := startCollector(rv, *httpAddr, *grpcAddr, m)
	if err != nil {
		st.Close()
		return err
	}
	fmt.Fprintf(e.stderr, "bodytap collect: OTLP/HTTP on %s, OTLP/gRPC on %s, storing into %s\n", orNone(c.httpURL), orNone(c.grpcAddr), dbName(*db))
	<-ctx.Done()
	err = c.shutdown()
	err = errors.Join(err, st.Close())
	rs, ss := rv.Stats(), st.Stats()
	logger.Info("stopped", "requests", rs.Requests, "exchanges", rs.Exchanges, "stored", ss.Stored,
		"ignored", rs.Ignored, "rejected", rs.Rejected, "refused_requests", rs.Failed, "store_errors", ss.Errors)
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(off)"
	}
	return s
}

// checkCollectBind refuses to receive beyond loopback without a token:
// anyone who can reach the port could write into the store.
func checkCollectBind(flag, addr, token string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("%s %q: want host:port, such as 127.0.0.1:4318", flag, addr)
	}
	if web.CheckBind(addr, token) != nil {
		return usagef("%s %s: refusing to receive beyond loopback without --token: anyone who can reach it could write into the store; listen on 127.0.0.1 instead, or set a token", flag, addr)
	}
	return nil
}

// collector is a running receiver: its HTTP and gRPC servers.
type collector struct {
	httpSrv  *http.Server
	grpcSrv  *grpc.Server
	httpURL  string // http://host:port, "" if off
	grpcAddr string // host:port, "" if off
}

// startCollector serves rv on the addresses that are not empty, and
// returns once they accept connections. The HTTP server also serves
// /metrics with m, unless it is nil.
func startCollector(rv *otlp.Receiver, httpAddr, grpcAddr string, m http.Handler) (*collector, error) {
	c := new(collector)
	if httpAddr != "" {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return nil, fmt.Errorf("--http %s: %v", httpAddr, errors.Unwrap(err))
		}
		mux := http.NewServeMux()
		mux.Handle(otlp.LogsPath, rv)
		if m != nil {
			mux.Handle("/metrics", m)
		}
		c.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		c.httpURL = "http://" + ln.Addr().String()
		go c.httpSrv.Serve(ln)
	}
	if grpcAddr != "" {
		ln, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			c.shutdown()
			return nil, fmt.Errorf("--grpc %s: %v", grpcAddr, errors.Unwrap(err))
		}
		c.grpcSrv = rv.GRPCServer()
		c.grpcAddr = ln.Addr().String()
		go c.grpcSrv.Serve(ln)
	}
	return c, nil
}

// shutdown stops accepting and waits for the requests in progress (up to
// shutdownGrace), so that what they carry is stored.
func (c *collector) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var err error
	if c.httpSrv != nil {
		if err = c.httpSrv.Shutdown(ctx); err != nil {
			c.httpSrv.Close()
		}
	}
	if c.grpcSrv != nil {
		done := make(chan struct{})
		go func() { c.grpcSrv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			c.grpcSrv.Stop()
		}
	}
	if err != nil {
		return fmt.Errorf("stopping: %v", strings.TrimSpace(err.Error()))
	}
	return nil
}
