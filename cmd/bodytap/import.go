package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/jsonl"
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
		return usagef("want one HAR or JSON Lines file, got %d arguments", len(pos))
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()

	// A failed import leaves no new store file behind. (In PostgreSQL,
	// a failed import leaves the store as it was, perhaps with the
	// schema a first write makes.)
	_, statErr := os.Stat(*db)
	created := !isPostgres(*db) && errors.Is(statErr, os.ErrNotExist)
	removeNew := func() {
		if created {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(*db + suffix)
			}
			os.RemoveAll(*db + "-log")
		}
	}
	s, err := openStore(ctx, *db, store.Options{})
	if err != nil {
		removeNew()
		return err
	}
	read := 0
	p := newProgress(e.stderr, "imported")
	br := bufio.NewReader(f)
	xs := jsonl.Read(br)
	if isHAR(br) || strings.EqualFold(filepath.Ext(path), ".har") {
		xs = harExchanges(br)
	}
	entries := func(yield func(*bodytap.Exchange, error) bool) {
		for x, err := range xs {
			if err != nil {
				yield(nil, fmt.Errorf("%s: %v", path, oneLine(err)))
				return
			}
			read++
			p.update(read)
			if !yield(x, nil) {
				return
			}
		}
	}
	n, err := s.Import(ctx, entries)
	p.done(n)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--db %s: %v", dbName(*db), oneLine(cerr))
	}
	if err != nil {
		removeNew()
		return fmt.Errorf("%v (nothing imported)", oneLine(err))
	}
	msg := fmt.Sprintf("imported %d exchanges from %s into %s", n, path, dbName(*db))
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

// isHAR reports whether r starts as a HAR file does, with a "log" member
// (rather than as JSON Lines, an exchange per line).
func isHAR(r *bufio.Reader) bool {
	b, _ := r.Peek(4096)
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\uFEFF")), " \t\r\n")
	b, ok := bytes.CutPrefix(b, []byte("{"))
	return ok && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte(`"log"`))
}

// harExchanges reads the entries of a HAR file as exchanges.
func harExchanges(r io.Reader) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) {
		dec := har.NewDecoder(r)
		for n := 1; ; n++ {
			var entry har.Entry
			err := dec.Decode(&entry)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			x, err := har.ToExchange(entry)
			if err != nil {
				yield(nil, fmt.Errorf("entry %d: %v", n, oneLine(err)))
				return
			}
			if !yield(x, nil) {
				return
			}
		}
	}
}
