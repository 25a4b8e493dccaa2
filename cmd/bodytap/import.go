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
	db := localDBFlag(fs)
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one HAR file, got %d arguments", len(pos))
	}
	if err := localOnly("import", *db, "import (a transaction over the whole file)"); err != nil {
		return err
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()

	// A failed import leaves no new store behind.
	_, statErr := os.Stat(*db)
	created := errors.Is(statErr, os.ErrNotExist)
	removeNew := func() {
		if created {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(*db + suffix)
			}
			os.RemoveAll(*db + "-log")
		}
	}
	s, err := openLocal(*db, store.Options{})
	if err != nil {
		removeNew()
		return err
	}
	read := 0
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
			read++
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
		removeNew()
		return fmt.Errorf("%v (nothing imported)", oneLine(err))
	}
	msg := fmt.Sprintf("imported %d exchanges from %s into %s", n, path, *db)
	switch dup := read - n; {
	case dup > 0 && n == 0:
		msg += fmt.Sprintf(": all %d were there already (same IDs)", dup)
	case dup == 1:
		msg += "; 1 was there already (same ID)"
	case dup > 1:
		msg += fmt.Sprintf("; %d were there already (same IDs)", dup)
	}
	fmt.Fprintln(e.stderr, msg)
	return nil
}
