package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/store"
)

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("export")
	db := dbFlag(fs)
	qf := addQueryFlags(fs)
	path := fs.String("har", "", "write a HAR 1.2 `file` (- or none: standard output, unless it is a terminal)")
	limit := fs.Int("limit", 0, "export at most `N` exchanges, newest first (0: all)")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if *path == "" {
		if isTerminal(e.stdout) {
			return usagef("--har FILE is required when standard output is a terminal (or: %s export > FILE)", e.name)
		}
		*path = "-"
	}
	q, err := qf.query(words)
	if err != nil {
		return err
	}
	q.Limit = *limit
	s, err := openStore(ctx, *db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()

	var w *har.Writer
	if *path == "-" {
		w = har.NewWriter(e.stdout)
	} else if w, err = har.Create(*path); err != nil {
		return fmt.Errorf("--har %s: %v", *path, oneLine(err))
	}
	p := newProgress(e.stderr, "exported")
	if p != nil {
		total, err := s.Count(ctx, q)
		if err == nil {
			if q.Limit > 0 {
				total = min(total, int64(q.Limit))
			}
			p.total = total
		}
	}
	n := 0
	for x, err := range s.Scan(ctx, q) {
		if err != nil {
			w.Close()
			return err
		}
		if err := w.WriteEntry(har.FromExchange(x)); err != nil {
			w.Close()
			return fmt.Errorf("--har %s: %v", *path, oneLine(err))
		}
		n++
		p.update(n)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("--har %s: %v", *path, oneLine(err))
	}
	p.done(n)
	if *path != "-" {
		fmt.Fprintf(e.stderr, "exported %d exchanges to %s\n", n, *path)
	}
	return nil
}

// progress reports a long job's progress on a terminal, at most a few
// times a second; it is nil (and silent) when w is not a terminal.
type progress struct {
	w     io.Writer
	verb  string
	total int64
	last  time.Time
}

func newProgress(w io.Writer, verb string) *progress {
	if !isTerminal(w) {
		return nil
	}
	return &progress{w: w, verb: verb, last: time.Now()}
}

func (p *progress) update(n int) {
	if p == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s %d of %d exchanges (%d%%)", p.verb, n, p.total, int64(n)*100/p.total)
	} else {
		fmt.Fprintf(p.w, "\r%s %d exchanges", p.verb, n)
	}
}

func (p *progress) done(n int) {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K")
}
