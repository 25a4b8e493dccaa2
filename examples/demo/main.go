// Command demo runs the sample API of `bodytap demo` behind a bodytap Tap,
// sends it the same sample traffic (JSON, a login with secrets to redact, a
// Server-Sent Events stream, a gzip body, an image, a download), and logs
// every captured exchange with log/slog.
//
//	go run ./examples/demo                        # sample traffic, then exit
//	go run ./examples/demo -listen 127.0.0.1:8080 # then keep serving for curl
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/sample"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "", "keep serving on this address after the sample traffic (e.g. 127.0.0.1:8080)")
	maxBody := fs.Int64("max-body", 256, "bytes kept per body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	tap := bodytap.New(bodytap.Config{
		MaxBodyBytes: *maxBody,
		Sink:         bodytap.SinkFunc(func(x *bodytap.Exchange) { logExchange(logger, x) }),
		BeforeHeaders: func(r *http.Request, status int, h http.Header, elapsed time.Duration) {
			h.Set("X-Process-Time", fmt.Sprintf("%.6f", elapsed.Seconds()))
		},
	})
	defer tap.Close()

	addr := *listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: tap.Handler(sample.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	if err := sample.Send(ctx, client, base); err != nil {
		return err
	}
	if *listen == "" {
		time.Sleep(20 * time.Millisecond) // let the last exchanges reach the sink
		return srv.Shutdown(ctx)
	}
	fmt.Fprintf(out, "\nserving on %s; try:\n  curl -d '{\"name\":\"you\"}' %s/api/users\n  curl -N %s/events\nCtrl-C to stop\n", base, base, base)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func logExchange(l *slog.Logger, x *bodytap.Exchange) {
	attrs := []any{
		"id", x.ID.String(),
		"method", x.Request.Method,
		"url", x.Request.URL.String(),
		"route", x.Route,
		"status", x.Response.Status,
		"duration", x.Duration.Round(time.Microsecond),
		"request_body", preview(x.Request.Body),
		"response_type", x.Response.Header.Get("Content-Type"),
		"response_encoding", x.Response.Header.Get("Content-Encoding"),
		"response_size", x.Response.Body.Size,
		"response_truncated", x.Response.Body.Truncated,
		"response_body", preview(x.Response.Body),
	}
	if x.Err != nil {
		attrs = append(attrs, "error", x.Err.Error())
	}
	l.Info("exchange", attrs...)
}

// preview shows a body as text when it is text, and as a size otherwise.
func preview(b bodytap.Body) string {
	if len(b.Bytes) == 0 {
		return ""
	}
	if !utf8.Valid(b.Bytes) || bytes.IndexByte(b.Bytes, 0) >= 0 {
		return fmt.Sprintf("(%d bytes of binary)", len(b.Bytes))
	}
	return string(b.Bytes)
}
