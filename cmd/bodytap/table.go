package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap/store"
)

// The table of ls and tail: one row per exchange, columns aligned.
//
// A table has a width to fit in: the terminal's when standard output is
// one (or $COLUMNS, when set), and none otherwise, so that a pipe gets
// whole cells. To fit, the URL column narrows (to minURL at the least)
// and cells longer than their column end in "…"; --wide and --json give
// the whole text.

// columns are the table's headings.
var columns = [...]string{"ID", "TIME", "METHOD", "URL", "STATUS", "DURATION", "REQ", "RESP"}

const (
	colMethod = 2
	colURL    = 3
	gap       = 2 // spaces between columns
	minURL    = 20
	ellipsis  = "…"
)

// tailWidths are the least widths of tail's columns, which are set before
// the rows they will hold are known: wide enough for the usual values
// (OPTIONS, "502 !", 12.345678s, 1023.9K) so that rows stay aligned.
var tailWidths = [len(columns)]int{26, 23, 7, 40, 5, 10, 7, 7}

type table struct {
	w      io.Writer
	widths [len(columns)]int
	limit  int // the width to fit in; 0: none, cells are never cut
}

// newTable returns a table on w that fits in limit columns (0: any).
func newTable(w io.Writer, limit int) *table {
	t := &table{w: w, limit: limit}
	for i, c := range columns {
		t.widths[i] = len(c)
	}
	return t
}

// measure widens the columns to hold rows.
func (t *table) measure(rows []store.Summary) {
	for _, r := range rows {
		for i, c := range cells(r) {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
}

// fit narrows the URL column so that a row fits in the limit.
func (t *table) fit() {
	if t.limit <= 0 {
		return
	}
	total := gap * (len(columns) - 1)
	for _, w := range t.widths {
		total += w
	}
	if over := total - t.limit; over > 0 {
		t.widths[colURL] = max(t.widths[colURL]-over, minURL)
	}
}

// writeTable writes rows as a table with a header line, fitting limit.
func writeTable(w io.Writer, rows []store.Summary, limit int) error {
	t := newTable(w, limit)
	t.measure(rows)
	t.fit()
	t.writeHeader()
	for _, r := range rows {
		if err := t.writeRow(r); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) writeHeader() error {
	return t.writeCells(columns[:])
}

func (t *table) writeRow(r store.Summary) error {
	c := cells(r)
	return t.writeCells(c[:])
}

func (t *table) writeCells(cs []string) error {
	var b strings.Builder
	for i, c := range cs {
		n := utf8.RuneCountInString(c)
		if t.limit > 0 && n > t.widths[i] {
			c, n = cut(c, t.widths[i], i == colURL), t.widths[i]
		}
		b.WriteString(c)
		if i < len(cs)-1 {
			b.WriteString(strings.Repeat(" ", max(t.widths[i]-n, 0)+gap))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

// cut shortens s to n runes, one of them an ellipsis: at the end, or in
// the middle to keep both the host and the end of the path of a URL.
func cut(s string, n int, middle bool) string {
	if n <= 1 {
		return strings.Repeat(ellipsis, max(n, 0))
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := n - 1
	if middle {
		head = (n - 1) / 3
	}
	return string(r[:head]) + ellipsis + string(r[len(r)-(n-1-head):])
}

// cells returns the text of a row's columns.
func cells(r store.Summary) [len(columns)]string {
	status := "-"
	if r.Status != 0 {
		status = fmt.Sprint(r.Status)
	}
	if r.Error != "" {
		status += " !"
	}
	return [...]string{
		r.ID.String(), r.Start.Local().Format("2006-01-02 15:04:05.000"), r.Method, r.URL, status,
		roundDuration(r.Duration).String(), humanSize(r.ReqSize), humanSize(r.RespSize),
	}
}

// tableWidth returns the width a table on out fits in: that of the
// terminal, or $COLUMNS; 0 (no limit) for a pipe or a file, or with wide.
func tableWidth(e *env, out io.Writer, wide bool) int {
	if wide {
		return 0
	}
	if n, err := strconv.Atoi(e.getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := out.(*os.File); ok && isTerminal(f) {
		return terminalWidth(f)
	}
	return 0
}
