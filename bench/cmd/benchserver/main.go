// Command benchserver serves the benchmark application for end-to-end
// measurements with wrk (see ../../wrk.sh).
//
//	benchserver -mode bare                      # the application alone
//	benchserver -mode bodytap                   # behind bodytap (any implementation of package bench)
//	benchserver -mode rproxy -upstream URL      # httputil.ReverseProxy to URL, no capture
//	benchserver -mode proxy -upstream URL       # bodytap's capturing reverse proxy to URL
//	benchserver -payload 1024                   # print the 1 KiB request body and exit
//
// It listens on -addr (a free loopback port by default) and writes its URL
// to -urlfile once it accepts connections. On SIGINT or SIGTERM it shuts
// down, delivers what bodytap has queued, and prints how many requests it
// served and how many exchanges its sink received.
//
// The rproxy mode is the baseline of the proxy mode: the same
// httputil.ReverseProxy set up as package proxy sets it up (its transport,
// flushing every read, full duplex), without the Tap.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/bench"
	"github.com/bodytap/bodytap/proxy"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchserver: ")
	var (
		mode     = flag.String("mode", "bare", "bare, any implementation of package bench ("+implNames()+"), rproxy or proxy")
		addr     = flag.String("addr", "127.0.0.1:0", "address to listen on")
		urlFile  = flag.String("urlfile", "", "file to write the server's URL to once it listens")
		upstream = flag.String("upstream", "", "upstream URL of the rproxy and proxy modes")
		file     = flag.String("file", "", "file served by /download")
		payload  = flag.Int("payload", 0, "print the request body of this size and exit")
	)
	flag.Parse()
	if *payload > 0 {
		os.Stdout.Write(bench.Payload(*payload, 0))
		return
	}

	var sink bench.Sink
	h, closeFn, err := build(*mode, *upstream, &sink, bench.AppOptions{DownloadFile: *file})
	if err != nil {
		log.Fatal(err)
	}
	var served atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "benchserver: http: ", 0),
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(u+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("%s listening on %s", *mode, u)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	closeFn()
	n, seen := served.Load(), sink.Seen()
	switch {
	case *mode == "bare" || *mode == "echo" || *mode == "rproxy":
		fmt.Printf("%s: served %d requests\n", *mode, n)
	default:
		fmt.Printf("%s: served %d requests, sink received %d exchanges (%d lost, %d without their bodies)\n", *mode, n, seen.N, n-seen.N, seen.Shed)
	}
}

func implNames() string {
	var names []string
	for _, i := range bench.Impls {
		names = append(names, i.Name)
	}
	return strings.Join(names, ", ")
}

// build returns the handler of mode and the function that closes it.
func build(mode, upstream string, s *bench.Sink, o bench.AppOptions) (http.Handler, func(), error) {
	switch mode {
	case "rproxy", "proxy":
		if upstream == "" {
			return nil, nil, fmt.Errorf("-mode %s needs -upstream", mode)
		}
		u, err := url.Parse(upstream)
		if err != nil {
			return nil, nil, err
		}
		if mode == "rproxy" {
			rp := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.Out.URL.RawQuery = pr.In.URL.RawQuery
					pr.SetURL(u)
					pr.SetXForwarded()
				},
				Transport:     proxy.NewTransport(u, false),
				FlushInterval: -1,
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// As package proxy does: without it an HTTP/1.1 server
				// closes the request body once the response starts, under
				// the transport still sending it.
				_ = http.NewResponseController(w).EnableFullDuplex()
				rp.ServeHTTP(w, r)
			}), func() {}, nil
		}
		p, err := proxy.New(proxy.Config{Upstream: u, Tap: bodytap.Config{Sink: bench.TapSink(s), MaxBodyBytes: bench.Cap}})
		if err != nil {
			return nil, nil, err
		}
		return p, func() { p.Close() }, nil
	}
	impl, ok := bench.ImplByName(mode)
	if !ok {
		return nil, nil, fmt.Errorf("unknown -mode %q", mode)
	}
	h, closeFn := impl.Build(s, o)
	return h, closeFn, nil
}
