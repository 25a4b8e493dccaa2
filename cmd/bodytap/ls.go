package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

// defaultPage is how many rows the table shows without --limit.
const defaultPage = 50

func runLs(ctx context.Context, e *env, args []string) error {
	fs := newFlags("ls")
	db := dbFlag(fs)
	qf := addQueryFlags(fs)
	asJSON := fs.Bool("json", false, "print full exchanges as JSON Lines (every match, streamed, unless --limit)")
	limit := fs.Int("limit", 0, "print at most `N` exchanges (default: all for --json, 50 for the table)")
	before := fs.String("before", "", "only exchanges older than this `ID` (the next page)")
	wide := fs.Bool("wide", false, "print whole cells; without it, the table fits the terminal and cuts long cells with …")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: must not be negative", *limit)
	}
	q, err := qf.query(words)
	if err != nil {
		return err
	}
	if *before != "" {
		if q.Before, err = bodytap.ParseID(*before); err != nil {
			return usagef("--before %q: not an exchange ID", *before)
		}
	}
	s, err := openStore(ctx, *db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()

	if *asJSON {
		q.Limit = *limit
		return writeJSONLines(ctx, e.stdout, s, q)
	}
	q.Limit = *limit
	if q.Limit == 0 {
		q.Limit = defaultPage
	}
	rows, err := s.List(ctx, q)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stderr, noneMatch(dbName(*db), words, fs))
		return nil
	}
	w := bufio.NewWriter(e.stdout)
	writeTable(w, rows, tableWidth(e, e.stdout, *wide))
	if len(rows) == q.Limit {
		q.Before, q.Limit = rows[len(rows)-1].ID, 0
		more, err := s.Count(ctx, q)
		if err != nil {
			return err
		}
		if more > 0 {
			fmt.Fprintf(w, "... %d more (next page: --before %s)\n", more, rows[len(rows)-1].ID)
		}
	}
	return w.Flush()
}

// writeJSONLines streams the full exchanges q selects, one JSON object a
// line, in constant memory.
func writeJSONLines(ctx context.Context, out io.Writer, s stores.Store, q store.Query) error {
	w := bufio.NewWriter(out)
	var line []byte
	for x, err := range s.Scan(ctx, q) {
		if err != nil {
			return err
		}
		if line, err = jsonl.Append(line[:0], x); err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return w.Flush()
}

// noneMatch says that nothing matched: the filter and the flags that
// select exchanges, as they were given.
func noneMatch(db string, words []string, fs *flag.FlagSet) string {
	var what []string
	if len(words) > 0 {
		what = append(what, strconv.Quote(strings.Join(words, " ")))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "since", "until", "before":
			what = append(what, "--"+f.Name+" "+f.Value.String())
		}
	})
	if len(what) == 0 {
		return fmt.Sprintf("no exchanges in %s yet", db)
	}
	return fmt.Sprintf("no exchanges match %s in %s", strings.Join(what, " "), db)
}

// roundDuration keeps three significant digits or so.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
