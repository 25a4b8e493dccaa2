package main

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
)

func runTail(ctx context.Context, e *env, args []string) error {
	fs := newFlags("tail")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print full exchanges as JSON Lines")
	last := fs.Int("n", 10, "first print the last `N` matching exchanges")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	q, err := (&queryFlags{}).query(words)
	if err != nil {
		return err
	}
	s, err := openStore(*db, store.Options{ReadOnly: true})
	if err != nil {
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
		writeRow(tw, r)
		return tw.Flush()
	}
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tTIME\tMETHOD\tURL\tSTATUS\tDURATION\tREQ\tRESP\t")
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
	return fmt.Errorf("--db %s: store closed", *db)
}
