package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
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
	s, err := openStore(*db, store.Options{ReadOnly: true})
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
	w := bufio.NewWriter(e.stdout)
	writeTable(w, rows)
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
func writeJSONLines(ctx context.Context, out io.Writer, s *store.Store, q store.Query) error {
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

// writeTable writes summaries as an aligned table with a header line.
func writeTable(w io.Writer, rows []store.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tMETHOD\tURL\tSTATUS\tDURATION\tREQ\tRESP\t")
	for _, r := range rows {
		writeRow(tw, r)
	}
	tw.Flush()
}

func writeRow(w io.Writer, r store.Summary) {
	status := "-"
	if r.Status != 0 {
		status = fmt.Sprint(r.Status)
	}
	if r.Error != "" {
		status += " !"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
		r.ID, r.Start.Local().Format("2006-01-02 15:04:05.000"), r.Method, r.URL, status,
		roundDuration(r.Duration), humanSize(r.ReqSize), humanSize(r.RespSize))
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
