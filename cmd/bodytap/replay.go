package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/replay"
	"github.com/bodytap/bodytap/store"
)

// maxReplayHAR is the largest HAR file replay reads: it holds every entry
// in memory before sending the first request.
const maxReplayHAR = 512 << 20

func runReplay(ctx context.Context, e *env, args []string) error {
	fs := newFlags("replay")
	db := dbFlag(fs)
	qf := addQueryFlags(fs)
	harPath := fs.String("har", "", "replay the entries of a HAR `file` instead of the store")
	to := fs.String("to", "", "the base `URL` to send the requests to (required)")
	limit := fs.Int("limit", 0, "replay at most `N` exchanges, the newest (0: all)")
	conc := fs.Int("concurrency", 4, "send at most `N` requests at once")
	var rate rateFlag
	fs.Var(&rate, "rate", "send at most `R` requests a second, as 10 or 10/s (0: no limit)")
	unsafe := fs.Bool("allow-unsafe", false, "replay POST, PUT, PATCH and DELETE requests too")
	var ignore, ignoreHeader, header listFlag
	fs.Var(&ignore, "ignore", "do not compare the JSON `path` ($.a.b, $.a[*].b; repeatable)")
	fs.Var(&ignoreHeader, "ignore-header", "do not compare the response header `name` (repeatable)")
	fs.Var(&header, "header", "set `'Name: value'` on every request; $VAR is taken from the environment (repeatable)")
	noise := fs.Bool("detect-noise", false, "send each request twice and ignore what differs between the two answers")
	report := fs.String("report", "", "write the results as JSON to `file`")
	junit := fs.String("junit", "", "write the results as JUnit XML to `file`")
	words, err := parse(e, fs, args)
	if err != nil {
		return err
	}

	cfg := &replay.Config{AllowUnsafe: *unsafe, Concurrency: *conc, Rate: float64(rate), DetectNoise: *noise}
	if *to == "" {
		return usagef("--to URL is required: where to send the requests")
	}
	if cfg.Target, err = url.Parse(*to); err != nil || (cfg.Target.Scheme != "http" && cfg.Target.Scheme != "https") || cfg.Target.Host == "" {
		return usagef("--to %q: want an http:// or https:// URL with a host", *to)
	}
	if *conc < 1 {
		return usagef("--concurrency %d: want 1 or more", *conc)
	}
	for _, s := range ignore {
		p, err := replay.ParsePath(s)
		if err != nil {
			return usagef("--ignore: %v", strings.TrimPrefix(err.Error(), "replay: "))
		}
		cfg.Rules.Paths = append(cfg.Rules.Paths, p)
	}
	cfg.Rules.Headers = ignoreHeader
	if cfg.Header, err = expandHeaders(header, e.getenv); err != nil {
		return err
	}
	q, err := qf.query(words)
	if err != nil {
		return err
	}
	q.Limit = *limit

	// Everything is read, and a bad HAR file rejected, before anything
	// is sent.
	var xs []*bodytap.Exchange
	if *harPath != "" {
		xs, err = readHAR(*harPath, q)
	} else {
		xs, err = readStore(ctx, *db, q)
	}
	if err != nil {
		return fmt.Errorf("%w (nothing sent)", err)
	}

	p := newProgress(e.stderr, "replayed")
	if p != nil {
		p.total = int64(len(xs))
		cfg.Progress = p.update
	}
	start := time.Now()
	results, err := replay.Run(ctx, cfg, xs)
	p.done(len(results))
	interrupted := err != nil
	rep := replay.NewReport(cfg.Target.String(), start, results, interrupted)
	printSummary(e.stdout, rep, len(xs))
	if *report != "" {
		if err := writeFile(*report, rep.WriteJSON); err != nil {
			return fmt.Errorf("--report %s: %v", *report, oneLine(err))
		}
	}
	if *junit != "" {
		if err := writeFile(*junit, rep.WriteJUnit); err != nil {
			return fmt.Errorf("--junit %s: %v", *junit, oneLine(err))
		}
	}
	switch changed, failed := rep.Counts[replay.Changed], rep.Counts[replay.Failed]; {
	case interrupted:
		return fmt.Errorf("interrupted after %d of %d requests: the report is partial", len(results), len(xs))
	case changed > 0 || failed > 0:
		return fmt.Errorf("%d changed, %d failed", changed, failed)
	}
	return nil
}

// readStore reads the exchanges q selects, oldest first.
func readStore(ctx context.Context, path string, q store.Query) ([]*bodytap.Exchange, error) {
	s, err := openStore(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var xs []*bodytap.Exchange
	for x, err := range s.Scan(ctx, q) {
		if err != nil {
			return nil, fmt.Errorf("--db %s: %v", dbName(path), oneLine(err))
		}
		xs = append(xs, x)
	}
	slices.Reverse(xs)
	return xs, nil
}

// readHAR reads the entries of a HAR file that q selects, in file order
// (with q.Limit, the last ones).
func readHAR(path string, q store.Query) ([]*bodytap.Exchange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--har %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxReplayHAR {
		return nil, fmt.Errorf("--har %s: %s is more than the %s replay reads; import it with 'bodytap import' and replay from the store", path, humanSize(fi.Size()), formatSize(maxReplayHAR))
	}
	dec := har.NewDecoder(f)
	var xs []*bodytap.Exchange
	for n := 1; ; n++ {
		var entry har.Entry
		err := dec.Decode(&entry)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--har %s: %v", path, oneLine(err))
		}
		x, err := har.ToExchange(entry)
		if err != nil {
			return nil, fmt.Errorf("--har %s: entry %d: %v", path, n, oneLine(err))
		}
		if q.Filter.Match(x) && (q.Since.IsZero() || !x.Start.Before(q.Since)) && (q.Until.IsZero() || x.Start.Before(q.Until)) {
			xs = append(xs, x)
		}
	}
	if q.Limit > 0 && len(xs) > q.Limit {
		xs = xs[len(xs)-q.Limit:]
	}
	return xs, nil
}

// expandHeaders parses --header values, taking $VAR and ${VAR} from the
// environment. A variable that is not set is an error rather than an
// empty credential; values are never printed.
func expandHeaders(lines []string, getenv func(string) string) (http.Header, error) {
	h := http.Header{}
	for _, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, usagef("--header: want 'Name: value', got a line without a name and a colon")
		}
		var missing string
		value = os.Expand(strings.TrimSpace(value), func(v string) string {
			s := getenv(v)
			if s == "" && missing == "" {
				missing = v
			}
			return s
		})
		if missing != "" {
			return nil, usagef("--header %s: $%s is not set in the environment", name, missing)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(name), value)
	}
	return h, nil
}

// printSummary prints the counts, then each result that is not the same
// with its reason or its first differences.
func printSummary(w io.Writer, rep *replay.Report, total int) {
	const shown = 3
	for _, res := range rep.Results {
		if res.Outcome == replay.Same {
			continue
		}
		fmt.Fprintf(w, "%-14s %s %s", res.Outcome, res.Method, res.URL)
		if res.Status != 0 {
			fmt.Fprintf(w, " (%d, recorded %d)", res.Status, res.RecordedStatus)
		}
		fmt.Fprintf(w, "  %s\n", res.ID)
		if res.Reason != "" {
			fmt.Fprintf(w, "    %s\n", res.Reason)
		}
		for i, d := range res.Diffs {
			if i == shown {
				fmt.Fprintf(w, "    ... %d more\n", len(res.Diffs)-shown)
				break
			}
			fmt.Fprintf(w, "    %s\n", d)
		}
		if res.NotCompared != "" {
			fmt.Fprintf(w, "    not compared: %s\n", res.NotCompared)
		}
	}
	fmt.Fprintf(w, "replayed %d of %d requests to %s:", len(rep.Results), total, rep.Target)
	for i, o := range replay.Outcomes {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %d %s", sep, rep.Counts[o], o)
	}
	fmt.Fprintln(w)
	if n := notCompared(rep); n > 0 {
		fmt.Fprintf(w, "compared in part only: %d (recorded bodies truncated or withheld at capture; see not_compared in --report)\n", n)
	}
}

// notCompared counts the results with a part not compared.
func notCompared(rep *replay.Report) int {
	n := 0
	for _, res := range rep.Results {
		if res.NotCompared != "" {
			n++
		}
	}
	return n
}

// writeFile writes a file through write, removing it if that fails.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return "" } // --header values are secrets, never shown

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// rateFlag is a rate in requests a second: 10, 2.5 or 10/s.
type rateFlag float64

func (r *rateFlag) String() string {
	if *r == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(*r), 'g', -1, 64) + "/s"
}

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v < 0 || v > 1e6 {
		return fmt.Errorf("want requests a second, such as 10 or 10/s, not %q", s)
	}
	*r = rateFlag(v)
	return nil
}
