package web

import (
	"strconv"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/media"
)

// chunkRow is one row of a streamed response's table of chunks.
type chunkRow struct {
	N      int
	Offset string // bytes of the body sent by then
	At     string // since the exchange started
	Gap    string // since the previous chunk, or since the headers
}

// chunkRows lists when the parts of a streamed response went out.
func chunkRows(x *bodytap.Exchange) []chunkRow {
	var rows []chunkRow
	prev := x.TimeToHeaders
	for i, c := range x.Response.Chunks {
		rows = append(rows, chunkRow{
			N:      i + 1,
			Offset: strconv.FormatInt(c.Offset, 10),
			At:     fmtDuration(c.At),
			Gap:    "+" + fmtDuration(c.At-prev),
		})
		prev = c.At
	}
	return rows
}

// sseEvent is one server-sent event of a body, with when it went out.
type sseEvent struct {
	At    string // time since the exchange started, or "" if not known
	Title string // what At means
	Text  string // the event's lines, without the blank line that ends it
}

// maxSSEEvents bounds the events shown one by one; a longer stream is
// shown as plain text.
const maxSSEEvents = 2000

// sseEvents splits the captured copy of an event stream into its events
// and gives each the time of the first chunk that carried its end. It
// returns nil unless the response is text/event-stream with chunk times,
// its copy is the bytes as sent (the chunks count bytes on the wire) and
// it holds no more than maxSSEEvents events.
func sseEvents(x *bodytap.Exchange) []sseEvent {
	r := &x.Response
	if len(r.Chunks) == 0 || len(r.Body.Bytes) == 0 || r.Body.Decoded != "" ||
		media.Type(r.Header.Get("Content-Type")) != "text/event-stream" || r.Header.Get("Content-Encoding") != "" {
		return nil
	}
	data := r.Body.Bytes
	last := r.Chunks[len(r.Chunks)-1]
	var events []sseEvent
	ci := 0
	add := func(text []byte, end int) bool {
		if len(events) == maxSSEEvents {
			return false
		}
		ev := sseEvent{Text: strings.ToValidUTF8(strings.TrimRight(string(text), "\r\n"), "\uFFFD")}
		for ci < len(r.Chunks) && r.Chunks[ci].Offset < int64(end) {
			ci++
		}
		switch {
		case ci < len(r.Chunks):
			ev.At, ev.Title = fmtDuration(r.Chunks[ci].At), "sent by this time after the exchange started"
		case r.ChunksOmitted > 0:
			ev.At, ev.Title = "> "+fmtDuration(last.At), "sent after the last chunk recorded"
		default:
			ev.At, ev.Title = fmtDuration(x.Duration), "sent when the handler returned"
		}
		events = append(events, ev)
		return true
	}
	start := 0
	for i := 0; i < len(data); {
		// Lines end in CRLF, LF or CR; an empty line ends an event.
		j := i
		for j < len(data) && data[j] != '\n' && data[j] != '\r' {
			j++
		}
		if j == len(data) {
			break
		}
		next := j + 1
		if data[j] == '\r' && next < len(data) && data[next] == '\n' {
			next++
		}
		if j == i {
			if i > start && !add(data[start:i], next) {
				return nil
			}
			start = next
		}
		i = next
	}
	if start < len(data) && !add(data[start:], len(data)) { // not ended: cut by the capture cap, or the stream
		return nil
	}
	return events
}

// chunksNote says how many flushes went unrecorded, if any did.
func chunksNote(r *bodytap.Response) string {
	if r.ChunksOmitted == 0 {
		return ""
	}
	verb := " more flushes were"
	if r.ChunksOmitted == 1 {
		verb = " more flush was"
	}
	return fmtCount(int64(r.ChunksOmitted)) + verb + " not recorded: a Tap keeps the first " + strconv.Itoa(bodytap.MaxChunks) + "."
}
