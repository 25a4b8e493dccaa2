package pgstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
)

var pgRegexpTests = []struct {
	name, re string
	want     string // "" when refused
}{
	{"literal", `abc`, `abc`},
	{"fold", `(?i)/orders/`, `\u002F[Oo][Rr][Dd][Ee][Rr][Ss\u017F]\u002F`},
	{"fold k", `(?i)k`, `[Kk\u212A]`},
	{"fold non-ASCII", `(?i)é`, `[\u00C9\u00E9]`},
	{"fold ß", `(?i)ß`, `[\u00DF\u1E9E]`},
	{"fold digit", `(?i)1`, `1`},
	{"fold turned off", `(?i)a(?-i)b`, `[Aa]b`},
	{"metacharacters", `\.\*\+\?\(\)\[\]\{\}\|\^\$\\`, `\u002E\u002A\u002B\u003F\u0028\u0029\u005B\u005D\u007B\u007D\u007C\u005E\u0024\u005C`},
	{"PostgreSQL specials", `%_:'"`, `\u0025\u005F\u003A\u0027\u0022`},
	{"beyond the BMP", `😀`, `\U0001F600`},
	{"dot", `a.b`, `a[^\u000A]b`},
	{"dot with s", `(?s)a.b`, `a.b`},
	{"anchors", `^a$`, `^a$`},
	{"text anchors", `\Aa\z`, `^a$`},
	{"line anchors", `(?m)^a$`, `(?:^|(?<=\u000A))a(?:$|(?=\u000A))`},
	{"class", `[a-c]`, `[a-c]`},
	{"class of two", `[ab]`, `[ab]`},
	{"class folded", `(?i)[a-c]`, `[A-Ca-c]`},
	{"class folded with k", `(?i)[j-l]`, `[J-Lj-l\u212A]`},
	{"negated class", `[^a]`, `[^a]`},
	{"negated class, no NUL", `[^\x00-\x{10FFFF}a]`, ""},
	{"digits", `\d+`, `[0-9]+`},
	{"word", `\w`, `[0-9A-Z\u005Fa-z]`},
	{"space", `\s`, `[\u0009\u000A\u000C\u000D\u0020]`},
	{"class with NUL", `[\x00-a]`, `[\u0001-a]`},
	{"only NUL", `\x00`, ""},
	{"repeat", `a{2,5}`, `a{2,5}`},
	{"repeat exact", `(ab){3}`, `(?:ab){3}`},
	{"repeat open", `a{2,}`, `a{2,}`},
	{"repeat past PostgreSQL's limit", `a{256}`, ""},
	{"repeat too large", `(?:abcdefghij){1,200}`, ""},
	{"star plus quest", `a*b+c?`, `a*b+c?`},
	{"non-greedy", `a*?b+?c??`, `a*b+c?`},
	{"folded star", `(?i)k*`, `[Kk\u212A]*`},
	{"literal star", `ab*`, `ab*`},
	{"alternation", `a|bc|d`, `(?:a|bc|d)`},
	{"group", `(a|b)c`, `[ab]c`},
	{"group of two", `(ab)+`, `(?:ab)+`},
	{"empty alternative", `a(|b)`, `a(?:(?:)|b)`},
	{"word boundary", `\bx`, `(?:(?<=[0-9A-Za-z\u005F])(?![0-9A-Za-z\u005F])|(?<![0-9A-Za-z\u005F])(?=[0-9A-Za-z\u005F]))x`},
	{"repeated anchor", `(^)*a`, ""},
	{"no match", `[^\x00-\x{10FFFF}]`, ""},
}

func TestPGRegexp(t *testing.T) {
	for _, tt := range pgRegexpTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pgRegexp(regexp.MustCompile(tt.re))
			if !ok {
				got = ""
			}
			if got != tt.want {
				t.Errorf("pgRegexp(%q) = %q, %v, want %q", tt.re, got, ok, tt.want)
			}
		})
	}
}

// pgRegexpStrings are what TestPGRegexpOnPostgres matches: folds beyond
// ASCII, metacharacters of both syntaxes, newlines, words of ASCII and
// others.
var pgRegexpStrings = []string{
	"", "a", "abc", "ABC", "aBc", "/orders/", "/ORDERS/", "/ordeRſ/", "/api/users/7/orders/12?q=x",
	"k", "K", "\u212A", "s", "S", "ſ", "é", "É", "ß", "ẞ", "SS", "ǅ", "ǆ", "Ǆ", "Ω", "ω", "Ω", "µ", "μ", "Μ",
	"İ", "ı", "i", "I", "😀", "\uFFFD", "\u00A0", "日本語",
	".*+?()[]{}|^$\\", "a.b", "a\nb", "\n", "a\n", "\na", "x\n\ny", "%_", "a%b_c", "\\y", "\\m",
	"a b", "a\tb", "ab_c", "_", "-", "é_", "xé", "é x", "aaaa", "abababab", "aaaaaaaaaaaa", "0123456789",
	"http://example.com:8080/a_b%c", "192.0.2.1:1024", "[::1]:9000",
}

// TestPGRegexpOnPostgres matches every translation in PostgreSQL, in a
// column of COLLATE "C" as the store's, against strings that Go matches
// with the regular expression it came from, for the patterns of
// pgRegexpTests and random ones.
func TestPGRegexpOnPostgres(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	var patterns []string
	for _, tt := range pgRegexpTests {
		patterns = append(patterns, tt.re, "(?i)"+tt.re)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		patterns = append(patterns, randomPattern(r, 3))
	}
	translated := 0
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			continue
		}
		pg, ok := pgRegexp(re)
		if !ok {
			continue
		}
		translated++
		var got []bool
		err = s.pool.QueryRow(ctx, `SELECT array_agg(v COLLATE "C" ~ $1 ORDER BY i) FROM unnest($2::text[]) WITH ORDINALITY u(v, i)`,
			pg, pgRegexpStrings).Scan(&got)
		if err != nil {
			t.Errorf("%q as %q: %v", p, pg, err)
			continue
		}
		for i, v := range pgRegexpStrings {
			if want := re.MatchString(v); got[i] != want {
				t.Errorf("%q as %q on %q: PostgreSQL says %v, Go %v", p, pg, v, got[i], want)
			}
		}
	}
	if translated < len(patterns)/2 {
		t.Errorf("translated %d patterns of %d", translated, len(patterns))
	}
}

// randomPattern makes a regular expression of the pieces Go's syntax
// has, over runes that fold beyond ASCII and metacharacters.
func randomPattern(r *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "k", "s", "K", "S", "ſ", "é", "É", "ß", "ǅ", "Ω", "µ", "i", "/", "_", " ",
		`\.`, `\*`, `\\`, `\$`, `\^`, `\(`, `\[`, `\{`, `\|`, `\?`, `\+`, "%", "'", `\n`, "😀",
		".", "(?s:.)",
		"[a-c]", "[^a]", "[k-s]", "[É-é]", "[^\\n]", `\d`, `\w`, `\s`, `\S`, `\W`, "[[:alpha:]]", `\pL`, `\p{Greek}`,
		"[_%]", "[.]", `[\]\-]`, "(?i:k)", "(?-i:s)", "(?i:[a-z])"}
	assertions := []string{"^", "$", `\A`, `\z`, "(?m:^)", "(?m:$)", `\b`, `\B`}
	var b strings.Builder
	if depth == 3 && r.IntN(2) == 0 {
		b.WriteString("(?i)")
	}
	for range 1 + r.IntN(4) {
		switch {
		case depth > 0 && r.IntN(4) == 0:
			b.WriteString("(" + randomPattern(r, depth-1) + "|" + randomPattern(r, depth-1) + ")")
		case depth > 0 && r.IntN(5) == 0:
			b.WriteString("(?:" + randomPattern(r, depth-1) + ")")
		case r.IntN(6) == 0:
			b.WriteString(assertions[r.IntN(len(assertions))])
			continue // Go repeats one, PostgreSQL may refuse to
		default:
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		if r.IntN(3) == 0 {
			qs := []string{"*", "+", "?", "*?", "{2}", "{1,3}", "{2,}", "{0,2}", "{0}", "{1}", "{0,}", "{3,3}"}
			b.WriteString(qs[r.IntN(len(qs))])
		}
	}
	return b.String()
}

// TestPGRegexpDatabases runs URL matches in a database whose default
// collation folds otherwise (ICU, Turkish: i and İ) and in one that is
// not UTF-8 (SQL_ASCII, where PostgreSQL's regular expressions see
// bytes, and the store leaves them to Go).
func TestPGRegexpDatabases(t *testing.T) {
	pgtest.DB(t) // starts the cluster, or skips
	cl, err := pgtest.Current()
	if err != nil {
		t.Fatal(err)
	}
	for i, db := range []struct {
		name, options string
		utf8          bool
	}{
		{"ICU tr-TR", "ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C'", true},
		{"SQL_ASCII", "ENCODING 'SQL_ASCII' LOCALE 'C'", false},
	} {
		t.Run(db.name, func(t *testing.T) {
			name := fmt.Sprintf("regexp_db_%d", i)
			// Left by an earlier run of the test on the same cluster
			// (go test -count=N) if there is one.
			if _, err := cl.Psql("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Psql("postgres", "CREATE DATABASE "+name+" TEMPLATE template0 "+db.options); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s, err := Open(ctx, cl.URL(name), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.utf8 != db.utf8 {
				t.Errorf("utf8 = %v, want %v", s.utf8, db.utf8)
			}
			t0 := time.Date(2024, 2, 20, 12, 0, 0, 0, time.UTC)
			var xs []*bodytap.Exchange
			for j, q := range []string{"İ", "ı", "i", "I", "é", "É", "ée", "K", "\u212A", "ſ", "ß", "😀", "\xff"} {
				at := t0.Add(time.Duration(j) * time.Second)
				xs = append(xs, &bodytap.Exchange{ID: bodytap.NewID(at), Start: at, Request: bodytap.Request{
					Method: "GET", URL: &url.URL{Scheme: "http", Host: "h", Path: "/", RawQuery: q}, Host: "h", RemoteAddr: q + ":1"}})
			}
			s.RecordBatch(xs)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for _, expr := range []string{"~u i", "~u İ", "~u ı", "~u é", "~u k", "~u s", `~u "\?.$"`, `~u "\?..$"`, `~u "[é-ê]"`, "~src I"} {
				f, want := matchCount(t, expr, xs)
				if got, err := s.Count(ctx, store.Query{Filter: f}); err != nil || got != want {
					t.Errorf("Count(%s) = %d, %v, want %d", expr, got, err, want)
				}
				if sums, _, err := s.ListPage(ctx, store.Query{Filter: f}); err != nil || int64(len(sums)) != want {
					t.Errorf("ListPage(%s): %d exchanges, %v, want %d", expr, len(sums), err, want)
				}
			}
		})
	}
}
