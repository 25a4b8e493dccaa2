package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/metrics"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/proxy"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
	"github.com/bodytap/bodytap/web"
)

// shutdownGrace is how long in-flight exchanges get to finish on SIGINT
// or SIGTERM; with the store's flush, the proxy exits within 10 s.
const shutdownGrace = 7 * time.Second

func runProxy(ctx context.Context, e *env, args []string) error {
	fs := newFlags("proxy")
	upstream := fs.String("upstream", "", "the server to capture: its base `URL`, such as http://127.0.0.1:3000 (required)")
	o := addServeFlags(fs, "127.0.0.1:8080")
	addOTLPFlags(fs, &o.otlp)
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on /metrics of this `address`, such as 127.0.0.1:9464 (with --ui, the viewer serves them too); needs --token beyond loopback")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *upstream == "" {
		return usagef("--upstream URL is required")
	}
	if o.upstream, err = parseUpstream(*upstream); err != nil {
		return err
	}
	if err := o.otlp.check(o.ui); err != nil {
		return err
	}
	rp, err := startProxy(ctx, e, o)
	if err != nil {
		return err
	}
	viewer := ""
	if rp.uiURL != "" {
		viewer = ", viewer at " + rp.uiURL
	}
	if rp.metricsURL != "" {
		viewer += ", metrics at " + rp.metricsURL
	}
	into := dbName(o.db)
	if o.otlp.url != "" {
		into += " and OTLP " + o.otlp.url
		if o.otlp.only {
			into = "OTLP " + o.otlp.url
		}
	}
	fmt.Fprintf(e.stderr, "bodytap proxy: %s -> %s, capturing into %s%s\n", rp.proxyURL, o.upstream, into, viewer)
	<-ctx.Done()
	return rp.shutdown()
}

// serveOptions are the settings of a running proxy, from flags.
type serveOptions struct {
	upstream  *url.URL
	listen    string
	db        string
	ui        string
	token     string
	maxBody   sizeFlag
	insecure  bool
	keepFor   time.Duration
	keepCount int64
	keepBytes sizeFlag
	spool     *spoolFlags
	logger    *slog.Logger
	otlp      otlpOptions
	metrics   string // address of the metrics server, "" for none
}

func addServeFlags(fs *flag.FlagSet, listen string) *serveOptions {
	o := &serveOptions{maxBody: 64 << 10}
	fs.StringVar(&o.listen, "listen", listen, "accept clients on this `address`")
	fs.StringVar(&o.db, "db", "bodytap.db", dbUsage)
	fs.StringVar(&o.ui, "ui", "", "also serve the web viewer on this `address`, such as 127.0.0.1:8081")
	fs.StringVar(&o.token, "token", "", "`secret` the viewer asks for; required when --ui is not a loopback address")
	fs.Var(&o.maxBody, "max-body", "`bytes` of each body kept")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the upstream's TLS certificate")
	fs.Var((*durationFlag)(&o.keepFor), "keep-for", "delete exchanges older than this `duration`, such as 12h, 7d or 2w (0: keep them)")
	fs.Int64Var(&o.keepCount, "keep-count", 0, "keep at most `N` exchanges, deleting the oldest (0: no limit)")
	fs.Var(&o.keepBytes, "keep-bytes", "keep the store under this `size`, such as 1GiB, deleting the oldest (0: no limit)")
	o.spool = addSpoolFlags(fs)
	return o
}

func parseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, usagef("--upstream %q: want an http:// or https:// URL with a host, such as http://127.0.0.1:3000", s)
	}
	// url.Parse takes any digits as a port; a dialer would refuse them
	// on every request.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, usagef("--upstream %q: port %s is out of range (1 to 65535)", s, p)
		}
	}
	return u, nil
}

// runningProxy is a proxy that serves, with its store and viewer.
type runningProxy struct {
	opts     *serveOptions
	store    stores.Store // nil with --otlp-only
	exporter *otlp.Sink   // nil without --otlp
	proxy    *proxy.Proxy
	srv      *http.Server
	ui       *uiServer
	proxyURL string
	uiURL    string
	stop     chan struct{} // closed to stop the drop watcher
	done     chan struct{} // closed when the drop watcher stops
	logger   *slog.Logger

	// The metrics server and its /metrics: nil and "" without --metrics.
	metrics    *http.Server
	metricsURL string
}

// proxyGCPercent is the garbage collector's target the proxy runs with
// unless GOGC is set. A proxy keeps little alive (about 1–2 MB of heap
// under load) and allocates per request, so the default of 100 collects
// dozens of times a second; each collection stops the world and takes a
// share of the CPUs, which showed in tail latency. At 400 the heap
// stays in the tens of MB, and at 1,000 req/s the p99 latency through
// the proxy fell from 4–7 ms to 1.1–1.5 ms on the 2-core test machine
// (go test -run XXX -bench ProxyLatency ./proxy/, GOGC=100 against 400).
const proxyGCPercent = 400

// proxyMemoryLimit is the soft limit on the Go heap the proxy runs with
// unless GOMEMLIMIT is set: near it the collector works harder instead of
// letting GOGC's target grow the heap (and the RSS) with a burst of
// captures, and the heap goes back down once the burst has been
// written. It is soft: a heap that needs more gets it. Under wrk -t2 -c16
// posting 1 KiB of JSON, the heap live after a collection is 2–5 MB and
// the collector runs about 8 times a second at 1% of the CPU whether the
// limit is 48 or 32 MiB; at 32 MiB the peak RSS was 69–77 MiB against
// 89–90 MiB at 48 (10 s runs, alternated, GOMEMLIMIT set in the
// environment).
const proxyMemoryLimit = 32 << 20

// proxyQueueBytes bounds the body bytes of the captures waiting for the
// store in memory (proxy.DefaultQueueBytes is 256 MiB): past it, requests
// wait for the store, up to proxy.DefaultQueueWait, rather than the
// process growing.
const proxyQueueBytes = 16 << 20

// startProxy opens the store, starts the proxy (and the viewer if asked)
// and returns once they accept connections.
func startProxy(ctx context.Context, e *env, o *serveOptions) (*runningProxy, error) {
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(proxyGCPercent)
	}
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(proxyMemoryLimit)
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if o.ui != "" {
		if err := checkUIBind(o.ui, o.token); err != nil {
			return nil, err
		}
	}
	if o.metrics != "" && web.CheckBind(o.metrics, o.token) != nil {
		return nil, usagef("--metrics %s: refusing to serve beyond loopback without --token; listen on 127.0.0.1 instead, or set a token", o.metrics)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %v", o.listen, errors.Unwrap(err))
	}
	var uiLn net.Listener
	if o.ui != "" {
		if uiLn, err = listenUI("--ui", o.ui); err != nil {
			ln.Close()
			return nil, err
		}
	}
	var mLn net.Listener
	if o.metrics != "" {
		if mLn, err = listenUI("--metrics", o.metrics); err != nil {
			ln.Close()
			if uiLn != nil {
				uiLn.Close()
			}
			return nil, err
		}
	}
	closeLns := func() {
		ln.Close()
		if uiLn != nil {
			uiLn.Close()
		}
		if mLn != nil {
			mLn.Close()
		}
	}
	exp, err := o.otlp.open(ctx)
	if err != nil {
		closeLns()
		return nil, err
	}
	var st stores.Store
	if !o.otlp.only {
		st, err = openWriter(ctx, o.db, store.Options{
			MaxAge: o.keepFor, MaxCount: o.keepCount, MaxBytes: int64(o.keepBytes), Logger: logger,
		}, o.spool)
		if err != nil {
			closeLns()
			closeSinks(nil, exp)
			return nil, err
		}
	}
	p, err := proxy.New(proxy.Config{
		Upstream:           o.upstream,
		Tap:                bodytap.Config{Sink: proxySink(st, exp), MaxBodyBytes: int64(o.maxBody), QueueBytes: proxyQueueBytes},
		Logger:             logger,
		InsecureSkipVerify: o.insecure,
	})
	if err != nil {
		closeLns()
		closeSinks(st, exp)
		return nil, err
	}
	rp := &runningProxy{opts: o, store: st, exporter: exp, proxy: p, logger: logger, stop: make(chan struct{}), done: make(chan struct{}),
		proxyURL: "http://" + ln.Addr().String()}

	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := proxy.CheckUpstream(cctx, o.upstream); err != nil {
		logger.Warn("upstream unreachable; serving anyway, requests get 502 until it is up", "upstream", o.upstream.String(), "err", err)
	}
	cancel()

	rp.srv = proxy.NewServer(o.listen, p)
	go rp.srv.Serve(ln)
	go rp.watchDrops()
	m := metricsHandler(o.token, rp.families)
	if mLn != nil {
		rp.metrics = &http.Server{Handler: withMetrics(http.NotFoundHandler(), m), ReadHeaderTimeout: 10 * time.Second}
		rp.metricsURL = "http://" + mLn.Addr().String() + "/metrics"
		go rp.metrics.Serve(mLn)
	}
	if uiLn != nil {
		if rp.ui, err = serveUI(uiLn, o.token, st, logger, m); err != nil {
			rp.shutdown()
			return nil, err
		}
		rp.uiURL = rp.ui.url
	}
	return rp, nil
}

// families are the proxy's metrics: its Tap's, its store's and its
// exporter's.
func (rp *runningProxy) families() []metrics.Family {
	fams := metrics.Tap(rp.proxy.Stats)
	if rp.store != nil {
		fams = append(fams, storeFamilies(rp.store, rp.opts.db)...)
	}
	if rp.exporter != nil {
		fams = append(fams, exportFamilies(rp.exporter)...)
	}
	return fams
}

// watchDrops logs when captures are dropped, and when the store falls
// behind: captures waiting for it in the queue.
func (rp *runningProxy) watchDrops() {
	defer close(rp.done)
	var last int64
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-rp.stop:
			return
		}
		if d := rp.dropped(); d > last {
			rp.logger.Warn("captures dropped: the store cannot keep up", "dropped", d)
			last = d
		}
		if q := rp.proxy.Stats().Queued; q >= lagWarn {
			rp.logger.Warn("the store is behind: captures waiting to be written", "queued", q)
		}
	}
}

// lagWarn is how many captures waiting for the store make the proxy say
// that the store is behind.
const lagWarn = 1000

func (rp *runningProxy) dropped() int64 {
	d := rp.proxy.Stats().Dropped
	if rp.store != nil {
		d += rp.store.Stats().Dropped
	}
	if rp.exporter != nil {
		d += rp.exporter.Stats().Dropped
	}
	return d
}

// shutdown stops accepting, lets in-flight exchanges finish (up to
// shutdownGrace), delivers every captured exchange to the store, and
// closes it.
func (rp *runningProxy) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if rp.srv != nil {
		if err := rp.srv.Shutdown(ctx); err != nil {
			rp.srv.Close()
		}
	}
	if rp.ui != nil {
		rp.ui.shutdown(ctx)
	}
	if rp.metrics != nil {
		rp.metrics.Shutdown(ctx)
	}
	errs = append(errs, rp.proxy.Close())
	close(rp.stop)
	<-rp.done
	var ss store.Stats
	if rp.store != nil {
		errs = append(errs, rp.store.Close())
		ss = rp.store.Stats()
	}
	ps := rp.proxy.Stats()
	if rp.exporter != nil {
		errs = append(errs, rp.exporter.Close())
		rp.logger.Info("OTLP export stopped", "otlp", otlpSummary(rp.exporter))
	}
	rp.logger.Info("stopped", "captured", ps.Captured, "stored", ss.Stored, "dropped", ps.Dropped+ss.Dropped, "store_errors", ss.Errors)
	return errors.Join(errs...)
}
