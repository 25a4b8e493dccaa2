// Command proxycmp is the helper of scripts/proxy-compare.sh: the
// upstream it proxies to, bodytap's proxy with capture skipped (the
// passthrough the capturing proxy is measured against), a load generator
// at a fixed rate for latency, and a counter of stored exchanges.
//
//	proxycmp upstream -listen 127.0.0.1:9001
//	proxycmp passthrough -listen 127.0.0.1:9002 -upstream http://127.0.0.1:9001
//	proxycmp rate -url http://127.0.0.1:9002/ -rate 1000 -d 10s
//	proxycmp rate -url http://127.0.0.1:9002/,http://127.0.0.1:9003/ -slot 1s -d 20s
//	proxycmp count -db bodytap.db ['~b word']
//	proxycmp search -db bodytap.db '~b word'
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/proxy"
	"github.com/bodytap/bodytap/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: proxycmp upstream|passthrough|rate|count|search|body [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "upstream":
		err = upstream(ctx, args)
	case "passthrough":
		err = passthrough(ctx, args)
	case "rate":
		err = rate(ctx, args)
	case "body":
		os.Stdout.Write(Body(1024))
	case "count":
		err = count(ctx, args)
	case "search":
		err = search(ctx, args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxycmp:", err)
		os.Exit(1)
	}
}

// Body returns n bytes of JSON.
func Body(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%d","ok":true}`, i, i)
	}
	b.WriteString(`],"pad":"`)
	for b.Len() < n-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// serve runs srv on listen until ctx is done.
func serve(ctx context.Context, listen string, srv *http.Server) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func upstream(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9001", "`address`")
	size := fs.Int("size", 1024, "response body `bytes`")
	fs.Parse(args)
	body := Body(*size)
	return serve(ctx, *listen, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	})})
}

func passthrough(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("passthrough", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9002", "`address`")
	up := fs.String("upstream", "http://127.0.0.1:9001", "`URL`")
	fs.Parse(args)
	u, err := url.Parse(*up)
	if err != nil {
		return err
	}
	p, err := proxy.New(proxy.Config{
		Upstream: u,
		Tap:      bodytap.Config{Skip: func(*http.Request) bool { return true }},
	})
	if err != nil {
		return err
	}
	defer p.Close()
	return serve(ctx, *listen, proxy.NewServer(*listen, p))
}

// rate sends POSTs of a 1 KiB JSON body at a fixed rate, open loop: each
// request's latency counts from when it was due, so that a stall delays
// the requests behind it in the figures too (no coordinated omission).
// Given several URLs (comma-separated), it takes them in turn, one slot
// of time each, so that contenders running side by side meet the same
// moments of a busy machine; it prints a line of figures per URL, in
// order.
func rate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	target := fs.String("url", "http://127.0.0.1:9002/", "`URLs`, comma-separated")
	perSec := fs.Int("rate", 1000, "requests a second")
	d := fs.Duration("d", 10*time.Second, "how long")
	slot := fs.Duration("slot", time.Second, "how long each URL gets in turn")
	conns := fs.Int("conns", 32, "most connections (and requests in flight) to each URL")
	size := fs.Int("size", 1024, "request body `bytes`")
	fs.Parse(args)
	urls := strings.Split(*target, ",")
	body := Body(*size)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}, Timeout: 10 * time.Second}
	n := int(d.Seconds() * float64(*perSec))
	interval := time.Second / time.Duration(*perSec)
	type result struct {
		url int
		lat time.Duration
		err bool
	}
	res := make([]result, n)
	type job struct {
		i   int
		url int
		due time.Time
	}
	jobs := make(chan job, n)
	var wg sync.WaitGroup
	for range *conns * len(urls) {
		wg.Go(func() {
			for j := range jobs {
				req, _ := http.NewRequestWithContext(ctx, "POST", urls[j.url], bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				res[j.i] = result{j.url, time.Since(j.due), err != nil}
			}
		})
	}
	start := time.Now()
	sent := 0
	for i := range n {
		off := time.Duration(i) * interval
		t := start.Add(off)
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- job{i, int(off/(*slot)) % len(urls), t}
		sent++
	}
	close(jobs)
	wg.Wait()
	for u := range urls {
		var lat []time.Duration
		errs := 0
		for _, r := range res[:sent] {
			if r.url == u {
				lat = append(lat, r.lat)
				if r.err {
					errs++
				}
			}
		}
		slices.Sort(lat)
		q := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)]) / 1e6
		}
		fmt.Printf("requests %d errors %d p50_ms %.3f p99_ms %.3f p999_ms %.3f max_ms %.3f\n",
			len(lat), errs, q(0.5), q(0.99), q(0.999), q(1))
	}
	return nil
}

// count prints how many exchanges the store holds, or how many a filter
// selects.
func count(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	db := fs.String("db", "bodytap.db", "store `file`")
	fs.Parse(args)
	var q store.Query
	if fs.NArg() > 0 {
		f, err := filter.Parse(strings.Join(fs.Args(), " "))
		if err != nil {
			return err
		}
		q.Filter = f
	}
	s, err := store.Open(*db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Count(ctx, q)
	if err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}

// search times the first page (50) of a filter's matches.
func search(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	db := fs.String("db", "bodytap.db", "store `file`")
	fs.Parse(args)
	f, err := filter.Parse(strings.Join(fs.Args(), " "))
	if err != nil {
		return err
	}
	start := time.Now()
	s, err := store.Open(*db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	opened := time.Since(start)
	sums, err := s.List(ctx, store.Query{Filter: f, Limit: 50})
	if err != nil {
		return err
	}
	fmt.Printf("open_ms %.1f first_page_ms %.1f matches %d\n", float64(opened)/1e6, float64(time.Since(start)-opened)/1e6, len(sums))
	return nil
}
