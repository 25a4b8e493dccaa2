package filter

import (
	"regexp"
	"strings"
)

// A HelpSection is a part of [Help] as structured data, for a reference
// that is not plain text, such as the web viewer's: a title and its
// blocks.
type HelpSection struct {
	Title  string // "" for the introduction
	Blocks []HelpBlock
}

// A HelpBlock is a paragraph, a list of examples or a table of
// operators: one of Text, Examples and Rows is set.
type HelpBlock struct {
	Text     string    // a paragraph, its lines joined
	Examples []string  // filter expressions, each complete
	Rows     []HelpRow // operators and what they mean
}

// A HelpRow is one line of a table: the syntax and what it means. Its
// Text keeps its own line breaks (sub-lists, such as the glob syntax).
type HelpRow struct {
	Syntax    string // "~m regex"
	Extension bool   // bodytap's, not mitmproxy's (marked * in Help)
	Text      string
}

// tableRow is the first line of a table row: two spaces, the syntax, two
// or more spaces (or " * " for an extension), the text.
var tableRow = regexp.MustCompile(`^  (\S(?:.*?\S)?)( +\* +| {2,})(\S.*)$`)

// HelpSections returns [Help] split into sections and blocks. Every word
// of Help is in them, and in its order.
func HelpSections() []HelpSection {
	lines := strings.Split(strings.TrimRight(Help, "\n"), "\n")
	var blocks [][]string
	var cur []string
	for _, l := range lines[1:] { // lines[0] is the title of the whole
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				blocks = append(blocks, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}

	secs := []HelpSection{{}}
	for _, b := range blocks {
		sec := &secs[len(secs)-1]
		first := b[0]
		switch {
		case len(b) == 1 && !strings.HasPrefix(first, " ") && !strings.HasSuffix(first, ".") && !strings.HasSuffix(first, ":"):
			secs = append(secs, HelpSection{Title: first})
		case tableRow.MatchString(first):
			sec.Blocks = append(sec.Blocks, HelpBlock{Rows: helpRows(b)})
		case sec.Title == "" && strings.HasPrefix(first, "  "):
			var ex []string
			for _, l := range b {
				ex = append(ex, strings.TrimSpace(l))
			}
			sec.Blocks = append(sec.Blocks, HelpBlock{Examples: ex})
		default:
			var words []string
			for _, l := range b {
				words = append(words, strings.TrimSpace(l))
			}
			sec.Blocks = append(sec.Blocks, HelpBlock{Text: strings.Join(words, " ")})
		}
	}
	return secs
}

// helpRows reads a table: rows, each a first line and the lines indented
// to its text column that continue it.
func helpRows(lines []string) []HelpRow {
	var rows []HelpRow
	col := 0
	for _, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if m := tableRow.FindStringSubmatch(l); m != nil && (col == 0 || indent < col) {
			col = len(l) - len(m[3])
			rows = append(rows, HelpRow{Syntax: m[1], Extension: strings.Contains(m[2], "*"), Text: m[3]})
			continue
		}
		if indent < col && len(l) > col {
			// A syntax too long for the gap of two spaces: cut at the column.
			rows = append(rows, HelpRow{Syntax: strings.TrimSpace(l[:col]), Text: l[col:]})
			continue
		}
		r := &rows[len(rows)-1]
		// A continuation: a sub-list keeps its lines and their indent
		// beyond the column; running text is joined.
		text := strings.TrimPrefix(l, strings.Repeat(" ", min(col, indent)))
		if strings.HasPrefix(text, " ") || isSubList(text) || strings.Contains(r.Text, "\n") {
			r.Text += "\n" + text
		} else {
			r.Text += " " + text
		}
	}
	return rows
}

// isSubList reports whether a continuation line is a line of a list
// inside a row's text (the glob syntax under ~path) rather than running
// text: it has a gap of two spaces.
func isSubList(text string) bool {
	return strings.Contains(strings.TrimSpace(text), "  ")
}
