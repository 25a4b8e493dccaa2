package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/store"
)

// handleHAR serves /api/har?f=FILTER (or ?id=ID for one exchange): the
// exchanges that match as a HAR 1.2 file download, newest first, streamed
// entry by entry in constant memory.
func (s *Server) handleHAR(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := "bodytap-" + time.Now().Format("20060102-150405") + ".har"
	var xs func(yield func(*bodytap.Exchange, error) bool)
	if idText := q.Get("id"); idText != "" {
		id, err := bodytap.ParseID(idText)
		if err != nil {
			http.Error(w, "bad exchange ID", http.StatusBadRequest)
			return
		}
		x, err := s.src.Get(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, "no such exchange", http.StatusNotFound)
			return
		} else if err != nil {
			s.log.Error("web: get", "id", id, "err", err)
			http.Error(w, "store error", http.StatusInternalServerError)
			return
		}
		name = "bodytap-" + id.String() + ".har"
		xs = func(yield func(*bodytap.Exchange, error) bool) { yield(x, nil) }
	} else {
		f, err := parseFilter(q.Get("f"))
		if err != nil {
			http.Error(w, "bad filter: "+oneLine(err.Error()), http.StatusBadRequest)
			return
		}
		xs = s.src.Scan(r.Context(), store.Query{Filter: f})
	}

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Security-Policy", sandboxCSP)
	if r.Method == http.MethodHead {
		return
	}
	hw := har.NewWriter(w)
	n := 0
	for x, err := range xs {
		if err != nil {
			s.log.Error("web: HAR export", "err", err)
			if n == 0 { // nothing sent yet: an error status is still possible
				h.Del("Content-Disposition")
				http.Error(w, "bodytap viewer: the store could not be read: "+oneLine(err.Error()), http.StatusInternalServerError)
			}
			// Otherwise the document stays incomplete, which tools report.
			return
		}
		n++
		if err := hw.WriteEntry(har.FromExchange(x)); err != nil {
			return // the client went away
		}
	}
	if err := hw.Close(); err != nil {
		s.log.Error("web: HAR export", "err", err)
	}
}
