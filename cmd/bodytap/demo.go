package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bodytap/bodytap/internal/sample"
	"github.com/bodytap/bodytap/store"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo")
	o := addServeFlags(fs, "127.0.0.1:8080")
	fs.Lookup("ui").DefValue = "127.0.0.1:8081"
	o.ui = "127.0.0.1:8081"
	exit := fs.Bool("exit", false, "exit after the sample traffic (the default when standard output is not a terminal)")
	serve := fs.Bool("serve", false, "keep serving after the sample traffic until interrupted (the default on a terminal)")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *exit && *serve {
		return usagef("--exit and --serve contradict each other")
	}
	if !*exit && !*serve {
		*serve = isTerminal(e.stdout)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// The default ports may be taken: then any free port will do.
	if !set["listen"] && e.getenv(envName("listen")) == "" && !free(o.listen) {
		o.listen = "127.0.0.1:0"
	}
	if o.ui != "" && !set["ui"] && e.getenv(envName("ui")) == "" && !free(o.ui) {
		o.ui = "127.0.0.1:0"
	}

	// Say at once what is happening: the first run may have been compiling
	// for a while, and the store and servers take a moment to start.
	fmt.Fprintf(e.stdout, "bodytap demo: starting a sample API and the capturing proxy (store %s)...\n", dbName(o.db))
	upstream := httptest.NewServer(sample.Handler())
	defer upstream.Close()
	o.upstream, _ = url.Parse(upstream.URL)

	rp, err := startProxy(ctx, e, o)
	if err != nil {
		return err
	}
	defer rp.shutdown()
	before, err := rp.store.Count(ctx, store.Query{})
	if err != nil {
		return err
	}

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	if err := sample.Send(ctx, client, rp.proxyURL); err != nil {
		return fmt.Errorf("sample traffic: %v", err)
	}
	client.CloseIdleConnections()
	want := before + int64(len(sample.Traffic))
	if err := waitStored(ctx, rp, want); err != nil {
		return err
	}
	rows, err := rp.store.List(ctx, store.Query{Limit: len(sample.Traffic)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "bodytap demo: a sample API at %s, the capturing proxy in front of it at %s.\n", upstream.URL, rp.proxyURL)
	fmt.Fprintf(e.stdout, "Sent %d requests through the proxy; captured into %s:\n\n", len(sample.Traffic), dbName(o.db))
	writeTable(e.stdout, rows, tableWidth(e, e.stdout, false))
	printNext(e, o, rp, rows, *serve)
	if !*serve {
		return nil
	}
	fmt.Fprintf(e.stdout, "\nServing until Ctrl-C.\n")
	<-ctx.Done()
	return nil
}

// free reports whether addr can be listened on now.
func free(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// waitStored waits until the store holds n exchanges: the proxy delivers
// captures to the store in the background.
func waitStored(ctx context.Context, rp *runningProxy, n int64) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := rp.store.Flush(ctx); err != nil {
			return err
		}
		got, err := rp.store.Count(ctx, store.Query{})
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d sample exchanges reached the store", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printNext prints what to try next, with this run's addresses.
func printNext(e *env, o *serveOptions, rp *runningProxy, rows []store.Summary, serving bool) {
	bt := e.name
	if o.db != "bodytap.db" {
		bt += " --db " + dbName(o.db)
	}
	id := ""
	for _, r := range rows {
		if strings.Contains(r.URL, "/api/login") {
			id = r.ID.String()
		}
	}
	var lines [][2]string
	if serving {
		fmt.Fprintf(e.stdout, "\nTry next, in another terminal while the demo runs:\n")
		lines = append(lines, [2]string{"curl " + rp.proxyURL + "/api/users", "captured like any other client's request"})
	} else {
		fmt.Fprintf(e.stdout, "\nTry next (the demo has stopped; --serve keeps it running):\n")
	}
	lines = append(lines, [][2]string{
		{bt + " ls", "the newest exchanges"},
		{bt + " ls '~m POST | ~c 4xx'", "filters use mitmproxy's syntax: " + e.name + " help filters"},
		{bt + " show " + id, "headers and bodies; the password and tokens are redacted"},
		{bt + " tail", "follow captures as they arrive"},
		{bt + " export --har demo.har", "HAR 1.2 for browser devtools and other tools"},
	}...)
	if serving && rp.uiURL != "" {
		lines = append(lines, [2]string{"open " + rp.uiURL, "the web viewer"})
	} else {
		lines = append(lines, [2]string{bt + " ui", "the web viewer, on http://127.0.0.1:8081/"})
	}
	w := 0
	for _, l := range lines {
		w = max(w, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(e.stdout, "  %-*s  # %s\n", w, l[0], l[1])
	}
}

// isTerminal reports whether w is a terminal: a character device that
// answers as one (/dev/null is a character device too).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && isTTY(f)
}
