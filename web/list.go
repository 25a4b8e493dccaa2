package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
)

// pageSize is the number of rows on a page of the list.
const pageSize = 100

// maxScan bounds the exchanges one page of the list examines in Go for a
// filter that SQL cannot decide alone (a header or body regex without an
// index, say): a filter that matches little of a large store then costs
// a bounded time per page, and the page links on to where it stopped.
const maxScan = 5000

// countTimeout bounds the time to the count shown above the list, and
// countGrace how long the page waits for it at least once its rows are
// ready: a filter that must read every body of a large store is not
// worth waiting for.
const (
	countTimeout = 300 * time.Millisecond
	countGrace   = 100 * time.Millisecond
)

// listView is the data of the list page.
type listView struct {
	Filter    string
	FilterErr string // the filter's parse error, in one line
	Err       string // the store failed
	Rows      []row
	Paged     bool   // an older page, not the newest
	Older     string // address of the next, older page; "" on the last
	Stopped   bool   // the page stopped at maxScan exchanges examined
	MaxScan   string
	Newest    string // address of the newest page with the same filter
	StreamURL string // live updates; "" on an older page or with a bad filter
	HARURL    string
	Total     string // "12,345 exchanges", "" if not known in time
	Count     int64  // the number Total says, which live rows add to
	Help      []filter.HelpSection

	// Progress, on a page whose search took longer than progressAfter,
	// says how far it has gone, a line at a time, while the top of the
	// page is already shown; it is closed when the rest of the view is
	// set. flush sends what the page has so far.
	Progress <-chan string
	flush    func()
}

// Flush sends the page rendered so far to the browser: the template
// calls it after each line of Progress.
func (v *listView) Flush() string {
	if v.flush != nil {
		v.flush()
	}
	return ""
}

// progressAfter is how long the list waits for a search before it shows
// the top of the page and how far the search has gone (a body search on
// a large store reads gigabytes), and progressEvery how often it says.
const (
	progressAfter = time.Second
	progressEvery = 250 * time.Millisecond
)

// helpSections is the filter syntax, for the reference beside the box.
var helpSections = filter.HelpSections()

// parseFilter parses the f parameter; an empty one selects everything.
func parseFilter(expr string) (*filter.Filter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	return filter.Parse(expr)
}

// listURL returns the address of a list page.
func listURL(f string, before bodytap.ID) string {
	q := url.Values{}
	if f != "" {
		q.Set("f", f)
	}
	if !before.IsZero() {
		q.Set("before", before.String())
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// handleList serves the list: newest first, a page at a time, paged by
// keyset (the ID of the last row shown) so that every page costs the
// same at any depth.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &listView{Filter: q.Get("f"), Help: helpSections, MaxScan: fmtCount(int64(s.maxScan))}
	v.Newest = listURL(v.Filter, bodytap.ID{})
	var before bodytap.ID
	if b := q.Get("before"); b != "" {
		id, err := bodytap.ParseID(b)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Bad page address", "The before= parameter is not an exchange ID.")
			return
		}
		before, v.Paged = id, true
	}
	f, err := parseFilter(v.Filter)
	if err != nil {
		v.FilterErr = oneLine(err.Error())
		s.render(w, r, http.StatusOK, "list", v)
		return
	}
	v.HARURL = harURL(v.Filter)

	// The search runs beside, and says how far it is.
	type listed struct {
		sums []store.Summary
		next bodytap.ID
		err  error
	}
	var scanned, total atomic.Int64
	sq := store.Query{Filter: f, Before: before, Limit: pageSize + 1, MaxScan: s.maxScan,
		Progress: func(n, of int64) { scanned.Store(n); total.Store(of) }}
	result := make(chan listed, 1)
	start := time.Now()
	// The count follows the page, in what is left of countTimeout (at
	// least countGrace), and is left out if it is slow: run beside it, a
	// count that reads bodies took half the CPU from the page's search.
	count := func() (int64, bool) {
		ctx, cancel := context.WithTimeout(r.Context(), max(countTimeout-time.Since(start), countGrace))
		defer cancel()
		n, err := s.src.Count(ctx, store.Query{Filter: f})
		return n, err == nil
	}
	go func() {
		sums, next, err := s.src.ListPage(r.Context(), sq)
		result <- listed{sums, next, err}
	}()
	var res listed
	select {
	case res = <-result:
	case <-time.After(s.progressAfter):
		s.renderProgress(w, r, v, start, func() {
			res = <-result
			s.fillList(v, res.sums, res.next, res.err, count)
		}, &scanned, &total)
		return
	}
	if s.fillList(v, res.sums, res.next, res.err, count) {
		s.render(w, r, http.StatusInternalServerError, "list", v)
		return
	}
	s.render(w, r, http.StatusOK, "list", v)
}

// fillList sets the rows of v from what the search returned and the
// total from count, and reports whether the store failed.
func (s *Server) fillList(v *listView, sums []store.Summary, next bodytap.ID, err error, count func() (int64, bool)) (failed bool) {
	if err != nil {
		s.log.Error("web: list", "filter", v.Filter, "err", err)
		v.Err = "The store could not be read: " + oneLine(err.Error())
		return true
	}
	switch {
	case len(sums) > pageSize:
		sums = sums[:pageSize]
		v.Older = listURL(v.Filter, sums[len(sums)-1].ID)
	case !next.IsZero():
		// The scan stopped before the page was full.
		v.Older, v.Stopped = listURL(v.Filter, next), true
	}
	now := time.Now()
	v.Rows = make([]row, len(sums))
	for i := range sums {
		v.Rows[i] = newRow(&sums[i], now)
	}
	if !v.Paged {
		after := bodytap.ID{}
		if len(sums) > 0 {
			after = sums[0].ID
		}
		v.StreamURL = streamURL(v.Filter, after)
	}
	if n, ok := count(); ok {
		v.Count = n
		v.Total = plural(int(n), "exchange", "exchanges")
		if v.Filter != "" {
			v.Total += " match"
			if n == 1 {
				v.Total += "es"
			}
		}
	}
	return false
}

// renderProgress renders the list page v while its search goes on: the
// top of the page at once, then a line every progressEvery saying how
// far the search has gone (scanned of total, from Query.Progress), and
// the rest once wait has set the rest of v.
func (s *Server) renderProgress(w http.ResponseWriter, r *http.Request, v *listView, start time.Time, wait func(), scanned, total *atomic.Int64) {
	lines := make(chan string)
	v.Progress = lines
	go func() {
		defer close(lines)
		done := make(chan struct{})
		go func() {
			wait()
			close(done)
		}()
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		line := func() string {
			n, of := scanned.Load(), total.Load()
			took := time.Since(start).Seconds()
			if of <= 0 {
				return fmt.Sprintf("Searching… (%.1f s)", took)
			}
			return fmt.Sprintf("Searching… %d%%: %s of %s exchanges (%.1f s)", n*100/of, fmtCount(n), fmtCount(of), took)
		}
		for {
			select {
			case lines <- line():
			case <-done:
				lines <- fmt.Sprintf("Searched in %.1f s.", time.Since(start).Seconds())
				return
			}
			select {
			case <-tick.C:
			case <-done:
				lines <- fmt.Sprintf("Searched in %.1f s.", time.Since(start).Seconds())
				return
			}
		}
	}()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		for range lines {
		}
		return
	}
	bw := bufio.NewWriter(w)
	rc := http.NewResponseController(w)
	v.flush = func() {
		bw.Flush()
		rc.Flush()
	}
	if err := pages["list"].ExecuteTemplate(bw, "layout", v); err != nil {
		s.log.Error("web: render", "page", "list", "err", err)
		for range lines {
		}
	}
	bw.Flush()
}

// streamURL returns the address of the live stream for a filter. after is
// the newest exchange the page shows: the stream first sends what was
// stored since, so that nothing falls between the page and the stream.
func streamURL(f string, after bodytap.ID) string {
	q := url.Values{}
	if f != "" {
		q.Set("f", f)
	}
	q.Set("after", after.String())
	return "/api/stream?" + q.Encode()
}

// harURL returns the address of the HAR export of a filter's exchanges.
func harURL(f string) string {
	if f == "" {
		return "/api/har"
	}
	return "/api/har?" + url.Values{"f": {f}}.Encode()
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Split(strings.TrimSpace(s), "\n"), " ")
}
