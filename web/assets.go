package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// assets holds the templates and static files: the viewer needs nothing
// outside the binary, and no build step.
//
//go:embed templates/*.html static/*
var assets embed.FS

// staticFile is an embedded static file with its content hash.
type staticFile struct {
	data  []byte
	ctype string
	hash  string
}

// The embedded files are fixed at build time: a template that does not
// parse, or a static directory that cannot be read, is a bug that fails
// at init, not an error for New to return.
var (
	statics = loadStatics()                         // by file name
	pages   = parsePages("list", "detail", "error") // by page name
)

// loadStatics indexes the embedded static files with their content
// hashes.
func loadStatics() map[string]*staticFile {
	m := make(map[string]*staticFile)
	ents, err := fs.ReadDir(assets, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		data, err := fs.ReadFile(assets, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		m[e.Name()] = &staticFile{data: data, ctype: staticType(e.Name()), hash: hex.EncodeToString(sum[:6])}
	}
	return m
}

// parsePages parses each named page with the layout.
func parsePages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"static": staticURL}
	m := make(map[string]*template.Template)
	for _, name := range names {
		m[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html"))
	}
	return m
}

func staticType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// staticURL returns the address of an embedded static file, versioned by
// its content so that it can be cached for good.
func staticURL(name string) string {
	if f := statics[name]; f != nil {
		return "/static/" + name + "?v=" + f.hash
	}
	return "/static/" + name
}

// handleStatic serves an embedded static file.
func handleStatic(w http.ResponseWriter, r *http.Request) {
	f := statics[r.PathValue("name")]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

// render executes a page template. Rendering goes to a buffer first so
// that a template error becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("web: render", "page", page, "err", err)
		http.Error(w, "bodytap viewer: internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorView is the data of the error page.
type errorView struct {
	Title, Message string
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, "error", &errorView{Title: title, Message: msg})
}
