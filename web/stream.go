package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
)

const (
	// backfillLimit is the most exchanges a stream sends that were stored
	// before it started (since the page it serves was rendered, or since
	// a reconnecting client's last event).
	backfillLimit = 500

	// pingInterval is how often an idle stream sends a comment, so that
	// proxies keep it open and a client that went away is noticed.
	pingInterval = 15 * time.Second
)

// handleStream serves /api/stream?f=FILTER&after=ID: the rows of new
// exchanges that match the filter, as Server-Sent Events named "x" whose
// data is a row as JSON and whose id is the exchange's ID. It first sends
// the exchanges stored after the given ID (or the Last-Event-ID of a
// client that reconnects), oldest first, then each new one as the store
// reports it.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q.Get("f"))
	if err != nil {
		http.Error(w, "bad filter: "+oneLine(err.Error()), http.StatusBadRequest)
		return
	}
	var after bodytap.ID
	backfill := false
	for _, a := range []string{r.Header.Get("Last-Event-ID"), q.Get("after")} {
		if id, err := bodytap.ParseID(a); err == nil {
			after, backfill = id, true
			break
		}
	}
	select {
	case <-s.done:
		http.Error(w, "bodytap viewer: shutting down", http.StatusServiceUnavailable)
		return
	default:
	}

	ctx := r.Context()
	// Subscribe before reading what is stored, so that an exchange stored
	// in between is in one or the other (or both: sent IDs are skipped).
	sub := s.src.Subscribe(ctx, f)
	var old []store.Summary
	if backfill {
		old, err = s.src.List(ctx, store.Query{Filter: f, After: after, Limit: backfillLimit})
		if err != nil {
			s.log.Error("web: stream backfill", "err", err)
		}
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	var buf bytes.Buffer
	buf.WriteString("retry: 1000\n\n")
	sent := make(map[bodytap.ID]bool, len(old))
	for _, sum := range slices.Backward(old) {
		writeEvent(&buf, &sum)
		sent[sum.ID] = true
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		buf.Reset()
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-ping.C:
			buf.WriteString(": ping\n\n")
		case sum, ok := <-sub:
			if !ok {
				return // the store closed
			}
			if sent[sum.ID] {
				delete(sent, sum.ID)
				continue
			}
			writeEvent(&buf, &sum)
			// Send what else is waiting in the same write.
		more:
			for range 100 {
				select {
				case sum, ok := <-sub:
					if !ok {
						break more
					}
					if !sent[sum.ID] {
						writeEvent(&buf, &sum)
					}
				default:
					break more
				}
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvent appends the event for one exchange.
func writeEvent(buf *bytes.Buffer, sum *store.Summary) {
	data, _ := json.Marshal(newRow(sum, time.Now())) // escapes <, > and &: no line breaks, nothing HTML
	buf.WriteString("event: x\nid: ")
	buf.WriteString(sum.ID.String())
	buf.WriteString("\ndata: ")
	buf.Write(data)
	buf.WriteString("\n\n")
}
