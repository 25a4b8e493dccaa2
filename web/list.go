package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
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

// countTimeout bounds the count shown above the list, and countGrace how
// long the page waits for it once its rows are ready: a filter that must
// read every body of a large store is not worth waiting for.
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
}

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

	// The count runs beside the page, and is left out if it is slow.
	count := make(chan int64, 1)
	ctx, cancel := context.WithTimeout(r.Context(), countTimeout)
	defer cancel()
	go func() {
		if n, err := s.src.Count(ctx, store.Query{Filter: f}); err == nil {
			count <- n
		}
		close(count)
	}()

	sq := store.Query{Filter: f, Before: before, Limit: pageSize + 1, MaxScan: s.maxScan}
	sums, next, err := s.src.ListPage(r.Context(), sq)
	if err != nil {
		s.log.Error("web: list", "filter", v.Filter, "err", err)
		v.Err = "The store could not be read: " + oneLine(err.Error())
		s.render(w, r, http.StatusInternalServerError, "list", v)
		return
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
	var n int64
	ok := false
	select {
	case n, ok = <-count:
	case <-time.After(countGrace):
	}
	if ok {
		v.Count = n
		v.Total = plural(int(n), "exchange", "exchanges")
		if v.Filter != "" {
			v.Total += " match"
			if n == 1 {
				v.Total += "es"
			}
		}
	}
	s.render(w, r, http.StatusOK, "list", v)
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
