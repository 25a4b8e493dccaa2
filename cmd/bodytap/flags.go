package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
)

// errHelpShown reports that a command printed its help on --help.
var errHelpShown = errors.New("help shown")

// A usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// newFlags returns the flag set of a command, quiet: errors are reported
// by parse as one line.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args, letting flags come before and after positional
// arguments ("--" ends the flags). Flags not given on the command line take
// their value from BODYTAP_<NAME> in the environment (upper case, '-' as
// '_'). On --help it prints the command's usage and returns errHelpShown.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v := e.getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = usagef("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(e.stdout, fs)
				return nil, errHelpShown
			}
			return nil, flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, rest...), nil
}

// flagError turns an error of package flag into bodytap's words: flags
// named with two dashes, as the help shows them, and for an unknown flag
// the closest one the command has.
func flagError(fs *flag.FlagSet, err error) error {
	msg := strings.Replace(err.Error(), "provided but not defined", "not defined", 1)
	msg = singleDash.ReplaceAllString(msg, "$1--$2")
	msg = strings.Replace(msg, ": parse error", ": not a whole number", 1) // flag.Int's words
	if name, ok := strings.CutPrefix(msg, "flag not defined: --"); ok {
		if near := closestFlag(fs, name); near != "" {
			msg += "; did you mean --" + near + "?"
		}
	}
	return &usageError{msg}
}

// singleDash finds the flag names package flag writes with one dash.
var singleDash = regexp.MustCompile(`(^|[\s:])-([A-Za-z][\w-]*)`)

// closestFlag returns the name of fs's flag nearest to name: one that
// starts with it, or within two edits of it; "" if none is.
func closestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func envName(flagName string) string {
	return "BODYTAP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// printHelp prints a command's usage line, summary and flags.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	c := lookup(fs.Name())
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	line := "bodytap " + c.name
	if n > 0 {
		line += " [flags]"
	}
	if c.args != "" {
		line += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", line, capitalize(c.summary))
	if c.args == "[FILTER]" {
		fmt.Fprintf(w, "\nFILTER is a filter expression, such as '~m POST & ~c 5xx'; see 'bodytap help filters'.\n")
	}
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags (also from the environment, as shown):\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, use := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "  [%s]\n      %s", envName(f.Name), use)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// dbUsage is the help of --db for the commands that take either store.
const dbUsage = "the store: a SQLite `file`, or a PostgreSQL database as postgres://user:password@host/db?..."

// dbFlag adds the --db flag of the commands that take either store.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "bodytap.db", dbUsage)
}

// openLocal opens the local store at path for a command. Readers get a
// clear error for a file that is missing rather than an empty new store.
func openLocal(path string, opts store.Options) (*store.Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--db %s: no such file (create one with 'bodytap proxy' or 'bodytap demo')", path)
			}
			return nil, fmt.Errorf("--db %s: %v", path, err)
		}
	}
	s, err := store.Open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("--db %s: %v", path, oneLine(err))
	}
	return s, nil
}

// queryFlags are the flags that select exchanges, shared by ls, tail and
// export.
type queryFlags struct {
	since, until timeFlag
}

func addQueryFlags(fs *flag.FlagSet) *queryFlags {
	q := new(queryFlags)
	fs.Var(&q.since, "since", "only exchanges since `TIME` (RFC 3339, a date, or a duration ago such as 15m)")
	fs.Var(&q.until, "until", "only exchanges before `TIME` (as for --since)")
	return q
}

// query builds the store query from the flags and the positional filter
// words.
func (q *queryFlags) query(words []string) (store.Query, error) {
	expr := strings.Join(words, " ")
	f, err := filter.Parse(expr)
	if err != nil {
		return store.Query{}, &usageError{oneLine(err)}
	}
	return store.Query{Filter: f, Since: q.since.t, Until: q.until.t}, nil
}

// timeFlag is a point in time given as RFC 3339, a date, or a duration
// before now.
type timeFlag struct {
	t   time.Time
	src string
}

func (f *timeFlag) String() string { return f.src }

func (f *timeFlag) Set(s string) error {
	t, err := parseTime(s, time.Now())
	if err != nil {
		return err
	}
	f.t, f.src = t, s
	return nil
}

func parseTime(s string, now time.Time) (time.Time, error) {
	if d, err := parseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("negative duration %q", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2006-01-02T15:04:05Z), a date (2006-01-02) or a duration ago (15m, 7d), not %q", s)
}

// parseDuration parses a Go duration ("90s", "1h30m") that may start with
// days and weeks ("7d", "2w", "1d12h"): a day is 24 hours.
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("want a duration such as 90s, 15m, 12h, 7d or 2w, not %q", s)
	var days time.Duration
	rest := strings.TrimSpace(s)
	counted := false // some days or weeks were
	for {
		i := 0
		for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || (rest[i] != 'd' && rest[i] != 'w') {
			break
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64((math.MaxInt64-days)/unit) {
			return 0, bad
		}
		days += time.Duration(n) * unit
		rest, counted = rest[i+1:], true
	}
	if rest == "" && counted {
		return days, nil
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d > math.MaxInt64-days {
		return 0, bad
	}
	return days + d, nil
}

// durationFlag is a duration flag that takes days and weeks too.
type durationFlag time.Duration

func (f *durationFlag) String() string { return time.Duration(*f).String() }

func (f *durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f = durationFlag(d)
	return nil
}

// sizeFlag is a byte count with an optional unit: 64KiB, 1M, 2GiB.
type sizeFlag int64

func (f *sizeFlag) String() string { return formatSize(int64(*f)) }

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f = sizeFlag(n)
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a size such as 65536, 64KiB or 1MiB, not %q", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// humanSize prints a size for a table: 512B, 1.5K, 12M.
func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + "K"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + "G"
}

// oneLine keeps the first line of an error's text.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
