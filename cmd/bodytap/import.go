package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/store"
)

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("import")
	db := dbFlag(fs)
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one HAR file, got %d arguments", len(pos))
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()

	s, err := openStore(*db, store.Options{})
	if err != nil {
		return err
	}
	p := newProgress(e.stderr, "imported")
	dec := har.NewDecoder(f)
	entries := func(yield func(*bodytap.Exchange, error) bool) {
		for n := 1; ; n++ {
			var entry har.Entry
			err := dec.Decode(&entry)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("%s: %v", path, oneLine(err)))
				return
			}
			x, err := har.ToExchange(entry)
			if err != nil {
				yield(nil, fmt.Errorf("%s: entry %d: %v", path, n, oneLine(err)))
				return
			}
			p.update(n)
			if !yield(x, nil) {
				return
			}
		}
	}
	n, err := s.Import(ctx, entries)
	p.done(n)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--db %s: %v", *db, oneLine(cerr))
	}
	if err != nil {
		return fmt.Errorf("%v (nothing imported)", oneLine(err))
	}
	fmt.Fprintf(e.stderr, "imported %d exchanges from %s into %s\n", n, path, *db)
	return nil
}
