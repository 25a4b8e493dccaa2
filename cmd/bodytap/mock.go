package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/mock"
)

func runMock(ctx context.Context, e *env, args []string) error {
	fs := newFlags("mock")
	db := dbFlag(fs)
	qf := addQueryFlags(fs)
	harPath := fs.String("har", "", "answer from the entries of a HAR `file` instead of the store")
	listen := fs.String("listen", "127.0.0.1:8080", "serve on this `address`")
	matchBody := fs.Bool("match-body", false, "match the request body too, byte for byte")
	var ignoreParam listFlag
	fs.Var(&ignoreParam, "ignore-param", "leave the query parameter `name` out of matching (repeatable)")
	timing := fs.Bool("timing", false, "send streamed responses with their recorded chunk timing")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	q, err := qf.query(words)
	if err != nil {
		return err
	}

	var xs []*bodytap.Exchange
	from := *harPath
	if *harPath != "" {
		xs, err = readHAR(*harPath, q)
	} else {
		xs, err = readStore(ctx, *db, q)
		from = dbName(*db)
	}
	if err != nil {
		return err
	}
	if len(xs) == 0 {
		return fmt.Errorf("no recorded exchange in %s matches: nothing to answer with", from)
	}

	var logMu sync.Mutex
	h := mock.New(mock.Config{
		MatchBody:    *matchBody,
		IgnoreParams: ignoreParam,
		Timing:       *timing,
		OnMiss: func(r *http.Request, c *bodytap.Exchange) {
			closest := "nothing recorded"
			if c != nil {
				closest = "closest " + c.Request.Method + " " + c.Request.URL.RequestURI()
			}
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(e.stderr, "bodytap mock: miss %s %s (%s)\n", r.Method, r.URL.RequestURI(), closest)
		},
	}, xs)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %v", *listen, oneLine(err))
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "bodytap mock: answering at http://%s from %d exchanges in %s\n", ln.Addr(), len(xs), from)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // a --timing stream still going
	}
	return nil
}
