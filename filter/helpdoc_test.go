package filter

import (
	"strings"
	"testing"
)

func TestHelpSections(t *testing.T) {
	secs := HelpSections()
	// Every word of Help is there, in order (but the title of the whole).
	var words []string
	for _, s := range secs {
		words = append(words, strings.Fields(s.Title)...)
		for _, b := range s.Blocks {
			words = append(words, strings.Fields(b.Text)...)
			for _, ex := range b.Examples {
				words = append(words, strings.Fields(ex)...)
			}
			for _, r := range b.Rows {
				words = append(words, strings.Fields(r.Syntax)...)
				if r.Extension {
					words = append(words, "*")
				}
				words = append(words, strings.Fields(r.Text)...)
			}
		}
	}
	want := strings.Fields(strings.TrimPrefix(Help, "Filter expressions"))
	if got := strings.Join(words, " "); got != strings.Join(want, " ") {
		t.Errorf("the sections lose or reorder words of Help:\ngot  %.400s\nwant %.400s", got, strings.Join(want, " "))
	}

	titles := []string{""}
	for _, s := range secs[1:] {
		titles = append(titles, s.Title)
	}
	if got := strings.Join(titles, "|"); got != "|Operators without an argument|Operators that match a regular expression|Status, duration, size and path|Combining|Regular expressions|Quoting|Not supported" {
		t.Errorf("titles %q", got)
	}
	// The introduction's examples parse.
	n := 0
	for _, b := range secs[0].Blocks {
		for _, ex := range b.Examples {
			n++
			if _, err := Parse(ex); err != nil {
				t.Errorf("example %q: %v", ex, err)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d examples, want 5", n)
	}
	// A row: its syntax, the extension mark, its text joined.
	var route, path, replay HelpRow
	for _, s := range secs {
		for _, b := range s.Blocks {
			for _, r := range b.Rows {
				switch r.Syntax {
				case "~route regex":
					route = r
				case "~path glob":
					path = r
				case "~replay, ~replayq, ~replays":
					replay = r
				}
			}
		}
	}
	if !route.Extension || route.Text != `the route pattern that matched the request, such as "GET /items/{id}"` {
		t.Errorf("~route row: %+v", route)
	}
	if replay.Text != "bodytap only observes requests; it never replays them" {
		t.Errorf("~replay row: %+v", replay)
	}
	if !strings.Contains(path.Text, "\n*  any characters within one path segment (no /)\n") {
		t.Errorf("~path row keeps its glob list on lines:\n%s", path.Text)
	}
}
