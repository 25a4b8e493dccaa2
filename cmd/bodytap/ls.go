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

	var done func()
	q.Progress, done = searchProgress(e, time.Now())
	defer done()
	if *asJSON {
		q.Limit = *limit
		return writeJSONLines(ctx, e.stdout, s, q)
	}
	q.Limit = *limit
	if q.Limit == 0 {
		q.Limit = defaultPage
	}
	rows, err := s.List(ctx, q)
	done()
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
		// The page first: counting the rest of a body search reads the
		// rest of the store.
		if err := w.Flush(); err != nil {
			return err
		}
		q.Progress, done = searchProgress(e, time.Now())
		q.Before, q.Limit = rows[len(rows)-1].ID, 0
		more, err := s.Count(ctx, q)
		done()
		if err != nil {
			return err
		}
		if more > 0 {
			fmt.Fprintf(w, "... %d more (next page: --before %s)\n", more, rows[len(rows)-1].ID)
		}
	}
	return w.Flush()
}

// progressAfter is how long a search goes before ls shows how far it is.
const progressAfter = time.Second

// searchProgress returns a store.Query.Progress that shows, on a line of
// e.stderr that it rewrites, how far a search that started at start has
// gone, once it has taken progressAfter and if stderr is a terminal; and
// the function that clears the line when the search is done.
// BODYTAP_PROGRESS=always shows every step at once, terminal or not (as
// lines, for scripts and tests), and BODYTAP_PROGRESS=never nothing.
func searchProgress(e *env, start time.Time) (progress func(scanned, total int64), done func()) {
	mode := e.getenv("BODYTAP_PROGRESS")
	tty := isTerminal(e.stderr)
	if mode == "never" || mode != "always" && !tty {
		return nil, func() {}
	}
	var shown bool
	var last time.Time
	progress = func(scanned, total int64) {
		now := time.Now()
		if total <= 0 || mode != "always" && (now.Sub(start) < progressAfter || now.Sub(last) < 100*time.Millisecond && scanned < total) {
			return
		}
		last, shown = now, true
		line := fmt.Sprintf("searching: %d%% (%s of %s exchanges, %.1fs)", scanned*100/total, thousands(scanned), thousands(total), now.Sub(start).Seconds())
		if !tty {
			fmt.Fprintln(e.stderr, line)
			return
		}
		fmt.Fprint(e.stderr, "\r\x1b[K"+line)
	}
	done = func() {
		if shown && tty {
			fmt.Fprint(e.stderr, "\r\x1b[K")
		}
		shown = false
	}
	return progress, done
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
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
