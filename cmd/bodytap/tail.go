package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

func runTail(ctx context.Context, e *env, args []string) error {
	fs := newFlags("tail")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print full exchanges as JSON Lines")
	last := fs.Int("n", 10, "first print the last `N` matching exchanges")
	wide := fs.Bool("wide", false, "never cut cells; without it, the table fits the terminal and cuts long cells with …")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	q, err := (&queryFlags{}).query(words)
	if err != nil {
		return err
	}
	var s stores.Store
	if isPostgres(*db) {
		s, err = waitPostgres(ctx, e, *db)
	} else if ls, lerr := waitStore(ctx, e, *db); ls != nil {
		s = ls
	} else {
		err = lerr // nil when interrupted while waiting
	}
	if s == nil {
		return err
	}
	defer s.Close()

	// Subscribe first, so nothing stored between the backlog query and
	// the subscription is missed; the backlog's newest ID filters
	// duplicates.
	sub := s.Subscribe(ctx, q.Filter)
	var backlog []store.Summary
	if *last > 0 {
		q.Limit = *last
		if backlog, err = s.List(ctx, q); err != nil {
			return err
		}
		slices.Reverse(backlog)
	}
	w := bufio.NewWriter(e.stdout)
	// The columns are as wide as the backlog needs and usual values do,
	// and stay so: rows that come later line up under the same header.
	t := newTable(w, tableWidth(e, e.stdout, *wide))
	t.widths = tailWidths
	t.measure(backlog)
	t.fit()
	print := func(r store.Summary) error {
		if *asJSON {
			x, err := s.Get(ctx, r.ID)
			if err != nil {
				return err
			}
			b, err := jsonl.Marshal(x)
			if err != nil {
				return err
			}
			_, err = w.Write(append(b, '\n'))
			return err
		}
		return t.writeRow(r)
	}
	if !*asJSON {
		t.writeHeader()
	}
	var newest store.Summary
	for _, r := range backlog {
		if err := print(r); err != nil {
			return err
		}
		newest = r
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for r := range sub {
		if !newest.ID.IsZero() && r.ID.String() <= newest.ID.String() {
			continue
		}
		if err := print(r); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: the normal way to end a tail
	}
	return fmt.Errorf("--db %s: store closed", dbName(*db))
}

// waitStore opens the store at path for reading, first waiting for the
// file to be created if it does not exist yet: tail may start before the
// proxy. It returns a nil store and no error if ctx ends the wait.
func waitStore(ctx context.Context, e *env, path string) (*store.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stderr, "bodytap tail: waiting for %s to be created (by '%s proxy', say)\n", path, e.name)
		for errors.Is(err, os.ErrNotExist) {
			select {
			case <-ctx.Done():
				return nil, nil
			case <-time.After(storeWaitPoll):
			}
			_, err = os.Stat(path)
		}
		// The file exists, but its creator may still be laying out the
		// schema: a few tries before an error is the store's.
		deadline := time.Now().Add(5 * time.Second)
		for {
			s, err := openLocal(path, store.Options{ReadOnly: true})
			if err == nil || time.Now().After(deadline) {
				return s, err
			}
			select {
			case <-ctx.Done():
				return nil, nil
			case <-time.After(storeWaitPoll):
			}
		}
	}
	return openLocal(path, store.Options{ReadOnly: true})
}

// waitPostgres opens the PostgreSQL store db for reading, first waiting
// for a writer to make its schema if the database holds none yet: tail
// may start before the first proxy or collector. It returns a nil store
// and no error if ctx ends the wait.
func waitPostgres(ctx context.Context, e *env, db string) (stores.Store, error) {
	said := false
	for {
		s, err := openStore(ctx, db, store.Options{ReadOnly: true})
		switch {
		case err == nil:
			return s, nil
		case ctx.Err() != nil:
			return nil, nil
		case !noSchema(err):
			return nil, err
		}
		if !said {
			fmt.Fprintf(e.stderr, "bodytap tail: waiting for a store in %s (made by the first '%s proxy' or '%s collect' writing it)\n", dbName(db), e.name, e.name)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(storeWaitPoll):
		}
	}
}

// storeWaitPoll is how often tail looks for a store that is not there yet.
const storeWaitPoll = 200 * time.Millisecond
