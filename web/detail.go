package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/coding"
	"github.com/bodytap/bodytap/internal/media"
	"github.com/bodytap/bodytap/store"
)

// kv is one row of a table of names and values.
type kv struct{ K, V string }

// detailView is the data of an exchange's page.
type detailView struct {
	ID          string
	Href        string
	Method      string
	URL         string
	Status      string
	StatusClass string
	StatusText  string
	Overview    []kv
	Marks       []mark
	Error       string

	// Timings, for the bar: time to headers and total, in microseconds.
	TTH, Total       int64
	TTHText, DurText string

	ReqHeaders, RespHeaders, Trailers []kv
	Informational                     []infoView
	Req, Resp                         bodyView

	// Chunks tells when a streamed response went out; ChunksNote says
	// how many flushes past them were not recorded.
	Chunks     []chunkRow
	ChunksNote string

	Curl     string
	CurlNote string
	HARURL   string
}

// infoView is a 1xx response.
type infoView struct {
	Status string
	Header []kv
}

// exchange loads the exchange named by the request's {id}, answering the
// request itself (and returning nil) when it cannot. A lower-case ID is
// redirected to its canonical address.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) *bodytap.Exchange {
	raw := r.PathValue("id")
	id, err := bodytap.ParseID(raw)
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "No such exchange", "This address does not name an exchange.")
		return nil
	}
	if raw != id.String() {
		u := *r.URL
		u.Path = strings.Replace(u.Path, raw, id.String(), 1)
		http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
		return nil
	}
	x, err := s.src.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "No such exchange", "The store does not hold exchange "+id.String()+": it may have been removed by retention.")
		return nil
	case err != nil:
		s.log.Error("web: get", "id", id, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Store error", "The store could not be read: "+oneLine(err.Error()))
		return nil
	}
	return x
}

// handleDetail serves an exchange's page: /x/{id}.
func (s *Server) handleDetail(w http.ResponseWriter, r *http.Request) {
	x := s.exchange(w, r)
	if x == nil {
		return
	}
	s.render(w, r, http.StatusOK, "detail", newDetailView(x))
}

func newDetailView(x *bodytap.Exchange) *detailView {
	v := &detailView{
		ID:     x.ID.String(),
		Href:   exchangeHref(x.ID),
		Method: x.Request.Method,
		HARURL: "/api/har?" + "id=" + x.ID.String(),
	}
	if x.Request.URL != nil {
		v.URL = x.Request.URL.String()
	}
	v.Status, v.StatusClass = statusText(x.Response.Status)
	v.StatusText = http.StatusText(x.Response.Status)
	if x.Response.Status == 0 {
		v.StatusText = "no response"
	}
	if x.Err != nil {
		v.Error = x.Err.Error()
	}
	v.TTH, v.Total = max(x.TimeToHeaders.Microseconds(), 0), max(x.Duration.Microseconds(), 0)
	v.TTHText, v.DurText = fmtDuration(x.TimeToHeaders), fmtDuration(x.Duration)
	if x.TimeToHeaders == 0 {
		v.TTHText = "never sent"
	}

	add := func(k, val string) {
		if val != "" {
			v.Overview = append(v.Overview, kv{k, val})
		}
	}
	add("ID", v.ID)
	add("Started", x.Start.Local().Format("2006-01-02 15:04:05.000000 MST"))
	add("Route", x.Route)
	add("Protocol", x.Request.Proto)
	add("Host", x.Request.Host)
	add("Client", x.Request.RemoteAddr)
	// What the client and the server declared, beside the body sizes the
	// bodies show: a difference is worth a look.
	if cl := x.Request.ContentLength; cl >= 0 {
		add("Request Content-Length", declared(strconv.FormatInt(cl, 10)))
	}
	add("Response Content-Length", declared(x.Response.Header.Get("Content-Length")))
	if x.Hijacked {
		v.Marks = append(v.Marks, mark{"warn", "hijacked: the handler took over the connection"})
	}

	v.ReqHeaders = headerRows(x.Request.Header)
	v.RespHeaders = headerRows(x.Response.Header)
	v.Trailers = headerRows(x.Response.Trailer)
	for _, i := range x.Response.Informational {
		v.Informational = append(v.Informational, infoView{
			Status: strconv.Itoa(i.Status) + " " + http.StatusText(i.Status),
			Header: headerRows(i.Header),
		})
	}
	v.Req = newBodyView(x.ID, "request", &x.Request.Body, x.Request.Header)
	v.Resp = newBodyView(x.ID, "response", &x.Response.Body, x.Response.Header)
	v.Chunks, v.ChunksNote = chunkRows(x), chunksNote(&x.Response)
	if v.Resp.Kind == "text" {
		if ev := sseEvents(x); ev != nil {
			v.Resp.Kind, v.Resp.Events, v.Resp.Text = "sse", ev, ""
		}
	}
	v.Curl, v.CurlNote = curlCommand(x)
	return v
}

// declared returns a Content-Length with its size in words when large:
// "52428800 (50.0 MiB)".
func declared(cl string) string {
	if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 1024 {
		return cl + " (" + fmtSize(n) + ")"
	}
	return cl
}

// headerRows lists a header one value per row, names sorted.
func headerRows(h http.Header) []kv {
	var rows []kv
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, val := range h[name] {
			rows = append(rows, kv{name, val})
		}
	}
	return rows
}

// handleBody serves one view of a body: /x/{id}/body/{part}/{view}. Every
// view is served so that no browser renders it as a document of the
// viewer's origin: raw and decoded bytes as attachments of type
// application/octet-stream, text as text/plain, images only when their
// bytes are a raster image, and all with nosniff and a sandbox CSP.
func (s *Server) handleBody(w http.ResponseWriter, r *http.Request) {
	part, view := r.PathValue("part"), r.PathValue("view")
	if part != "request" && part != "response" {
		http.NotFound(w, r)
		return
	}
	switch view {
	case "raw", "decoded", "image", "text", "hex":
	default:
		http.NotFound(w, r)
		return
	}
	x := s.exchange(w, r)
	if x == nil {
		return
	}
	b, h := &x.Request.Body, x.Request.Header
	if part == "response" {
		b, h = &x.Response.Body, x.Response.Header
	}
	wh := w.Header()
	wh.Set("Content-Security-Policy", sandboxCSP)
	wh.Set("X-Content-Type-Options", "nosniff")

	name := x.ID.String() + "-" + part
	switch view {
	case "raw":
		ext := extension(h.Get("Content-Type"))
		if ce := coding.Header(h); b.Decoded == "" && coding.Count(ce) > 0 {
			ext += codingExt(ce)
		}
		serveAttachment(w, r, name+ext, b.Bytes)
	case "decoded":
		d := decodeBody(b, h, decode.DefaultLimit)
		serveAttachment(w, r, name+extension(h.Get("Content-Type")), d.bytes)
	case "image":
		d := decodeBody(b, h, decode.DefaultLimit)
		ct := http.DetectContentType(d.bytes)
		if d.err != nil || !rasterTypes[ct] {
			http.Error(w, "not a raster image", http.StatusNotFound)
			return
		}
		wh.Set("Content-Type", ct)
		wh.Set("Content-Disposition", `inline; filename="`+name+`"`)
		wh.Set("Content-Length", strconv.Itoa(len(d.bytes)))
		if r.Method != http.MethodHead {
			w.Write(d.bytes)
		}
	case "text":
		d := decodeBody(b, h, decode.DefaultLimit)
		ct := h.Get("Content-Type")
		text, _, ok := toText(ct, d.bytes, d.partial || d.cut)
		if !ok || d.err != nil || !isText(ct, d.bytes) {
			http.Error(w, "not a text body: download it instead", http.StatusUnsupportedMediaType)
			return
		}
		if r.URL.Query().Get("pretty") == "1" {
			var buf bytes.Buffer
			if json.Indent(&buf, []byte(text), "", "  ") == nil {
				text = buf.String()
			} else if d.partial {
				if t, ok := indentPrefix([]byte(text)); ok {
					text = t + "\n\n[✂ the capture stops here: the body was truncated]\n"
				}
			}
		}
		if d.cut {
			text += fmt.Sprintf("\n\n[… cut: only the first %s decoded are shown; download the body for the rest]\n", fmtSize(decode.DefaultLimit))
		}
		serveText(w, r, text)
	case "hex":
		d := decodeBody(b, h, decode.DefaultLimit)
		off, err := strconv.Atoi(r.URL.Query().Get("offset"))
		if err != nil || off < 0 || off > len(d.bytes) {
			http.Error(w, "bad offset", http.StatusBadRequest)
			return
		}
		end := min(off+hexChunk, len(d.bytes))
		if end < len(d.bytes) {
			wh.Set("X-Next", bodyURL(x.ID, part, "hex")+"?offset="+strconv.Itoa(end))
		}
		serveText(w, r, hexDump(d.bytes[off:end], int64(off)))
	}
}

// serveAttachment serves bytes as a download that no browser renders.
func serveAttachment(w http.ResponseWriter, r *http.Request, filename string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// serveText serves text as text/plain.
func serveText(w http.ResponseWriter, r *http.Request, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(text))
}

// extension returns a file name extension for a media type: only from a
// fixed list, so that a captured Content-Type never makes up a file name.
func extension(ct string) string {
	mt := media.Type(ct)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return ".json"
	case mt == "text/html":
		return ".html.txt" // never opened as a page by a double click
	case mt == "text/plain":
		return ".txt"
	case mt == "text/css":
		return ".css"
	case mt == "text/csv":
		return ".csv"
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return ".xml"
	case mt == "image/png":
		return ".png"
	case mt == "image/jpeg":
		return ".jpg"
	case mt == "image/gif":
		return ".gif"
	case mt == "image/webp":
		return ".webp"
	case mt == "application/pdf":
		return ".pdf"
	}
	return ".bin"
}

// codingExt returns the extension of a body still in a content coding.
func codingExt(ce string) string {
	ce = strings.ToLower(strings.TrimSpace(ce))
	if i := strings.LastIndexByte(ce, ','); i >= 0 {
		ce = strings.TrimSpace(ce[i+1:])
	}
	switch ce {
	case "gzip", "x-gzip":
		return ".gz"
	case "br":
		return ".br"
	case "zstd":
		return ".zst"
	case "deflate":
		return ".zz"
	}
	return ""
}
