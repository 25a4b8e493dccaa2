package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
)

// Config configures the viewer.
type Config struct {
	// Store is where the exchanges come from: a *store.Store, a
	// *pgstore.Store, or any store that package stores opens. Required.
	Store Source

	// Token, when not empty, is required on every request: as the cookie
	// that visiting any page with ?token=TOKEN once sets, or as an
	// "Authorization: Bearer TOKEN" header. Use [NewToken] to make one.
	// A viewer reachable from other machines must have one; see
	// [CheckBind].
	Token string

	// AllowedHosts lists host names (without port) that requests may
	// name in their Host header besides the loopback ones (localhost,
	// *.localhost, 127.0.0.0/8, ::1), when Token is empty. Without a
	// token, the Host check is what stops a DNS rebinding attack from
	// reading the viewer through another site's name.
	AllowedHosts []string

	// Logger receives errors (a failing store); nil discards them.
	Logger *slog.Logger
}

// Source is what the viewer reads: the queries of package stores' Store
// that it makes. Its methods have the semantics that package store
// documents; Subscribe follows what other processes write, too, when the
// store does (both of bodytap's stores do), and ListPage's MaxScan bound
// is what keeps a page of a filter left to Go cheap.
type Source interface {
	List(ctx context.Context, q store.Query) ([]store.Summary, error)
	ListPage(ctx context.Context, q store.Query) ([]store.Summary, bodytap.ID, error)
	Count(ctx context.Context, q store.Query) (int64, error)
	Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error)
	Scan(ctx context.Context, q store.Query) iter.Seq2[*bodytap.Exchange, error]
	Subscribe(ctx context.Context, f *filter.Filter) <-chan store.Summary
}

var _ Source = (*store.Store)(nil)

// Server is the viewer: an http.Handler that serves the list of
// exchanges, their detail pages, raw bodies, HAR export and a live
// stream, with every asset it needs embedded in the binary.
//
// Everything it shows from a capture is escaped: captured bodies and
// headers are attacker-controlled, and nothing of them is ever interpreted
// as HTML or script. Pages carry a strict Content-Security-Policy with
// Trusted Types, bodies are served only as downloads or sandboxed text,
// and captured URLs are shown as text, never followed.
type Server struct {
	src       Source
	log       *slog.Logger
	mux       *http.ServeMux
	tokenHash [sha256.Size]byte // of Config.Token
	hasToken  bool
	cookie    string // name of the token cookie
	hosts     map[string]bool
	maxScan   int // see maxScan

	progressAfter time.Duration // see progressAfter

	// done is closed by Close, ending the live streams.
	done      chan struct{}
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// New returns the viewer for cfg.Store.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: Config.Store is nil")
	}
	s := &Server{
		src:     cfg.Store,
		log:     cfg.Logger,
		hosts:   make(map[string]bool),
		done:    make(chan struct{}),
		maxScan: maxScan,

		progressAfter: progressAfter,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Token != "" {
		s.hasToken = true
		s.tokenHash = sha256.Sum256([]byte(cfg.Token))
		// Cookies are not isolated by port: name the cookie after the
		// token, so that two viewers on one host do not overwrite each
		// other's.
		s.cookie = "bodytap_token_" + hex.EncodeToString(s.tokenHash[:4])
	}
	for _, h := range cfg.AllowedHosts {
		s.hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	s.routes()
	return s, nil
}

// Close ends the live streams that are open, so that an http.Server's
// Shutdown does not wait for them. The Server serves no new stream after
// Close; pages are still served.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleList)
	m.HandleFunc("GET /x/{id}", s.handleDetail)
	m.HandleFunc("GET /x/{id}/body/{part}/{view}", s.handleBody)
	m.HandleFunc("GET /api/stream", s.handleStream)
	m.HandleFunc("GET /api/har", s.handleHAR)
	m.HandleFunc("GET /static/{name}", handleStatic)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
	})
	s.mux = m
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.hasToken && !s.hostAllowed(r.Host) {
		// Most likely DNS rebinding: a page on another site's name
		// that now resolves to this machine.
		http.Error(w, "bodytap viewer: unexpected Host header; open it as http://127.0.0.1:PORT or http://localhost:PORT", http.StatusMisdirectedRequest)
		return
	}
	if !fetchAllowed(r) {
		http.Error(w, "bodytap viewer: cross-site request refused", http.StatusForbidden)
		return
	}
	if s.hasToken && !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// pageCSP is the Content-Security-Policy of every page: scripts, styles
// and images from the viewer itself only, no inline script or style, no
// frames, no plugins, and Trusted Types, so that a string can never reach
// an HTML sink such as innerHTML.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-src 'none'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

// sandboxCSP is the Content-Security-Policy of captured bodies served on
// their own: a document that is rendered anyway runs in a unique origin,
// with no script and nothing loaded.
const sandboxCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

// hostAllowed reports whether a Host header names this machine's loopback
// interface or one of Config.AllowedHosts.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || s.hosts[host] {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// fetchAllowed refuses requests that another site's page makes in the
// background (an <img>, a fetch, a <script src>): only top-level
// navigations may come from elsewhere. Browsers say where a request comes
// from in Sec-Fetch-Site; requests without it (curl, old browsers) pass.
func fetchAllowed(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
}

// authorized checks the token of a request to a viewer that has one, and
// answers the request itself when it returns false. A ?token= parameter
// that is right sets the cookie and redirects to the same page without
// it, so that the token does not stay in the address bar.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if q := r.URL.Query(); q.Has("token") {
		if !s.tokenOK(q.Get("token")) {
			http.Error(w, "bodytap viewer: wrong token", http.StatusUnauthorized)
			return false
		}
		http.SetCookie(w, &http.Cookie{
			Name:     s.cookie,
			Value:    q.Get("token"),
			Path:     "/",
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
			Secure:   r.TLS != nil,
		})
		q.Del("token")
		path := r.URL.Path
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
			path = "/" // never a redirect to another host
		}
		u := url.URL{Path: path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.tokenOK(auth) {
		return true
	}
	if c, err := r.Cookie(s.cookie); err == nil && s.tokenOK(c.Value) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="bodytap"`)
	http.Error(w, "bodytap viewer: this viewer needs its token: open the address with ?token=… that bodytap printed when it started", http.StatusUnauthorized)
	return false
}

// tokenOK compares a token with the configured one in constant time
// (hashes of equal length, so that the length does not leak either).
func (s *Server) tokenOK(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], s.tokenHash[:]) == 1
}

// CheckBind reports whether the viewer may listen on addr (host:port, as
// given to net.Listen) with the given token. A loopback address
// (127.0.0.1, ::1, localhost) needs no token; any other address, all
// interfaces included (":8080", "0.0.0.0:8080"), is refused without one,
// since the viewer shows everything that was captured. The error says so
// in a sentence that a command line tool can print as it is.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: listen address %q: %w", addr, err)
	}
	if isLoopback(host) || token != "" {
		return nil
	}
	where := host
	if where == "" {
		where = "all interfaces"
	}
	return fmt.Errorf("web: refusing to serve the viewer on %s (%s) without a token: "+
		"it shows every captured request and response to anyone who can reach it; "+
		"listen on 127.0.0.1 instead, or set a token", addr, where)
}

// isLoopback reports whether host, as in a listen address, is a loopback
// name or IP address. Other names are not resolved: they count as not
// loopback.
func isLoopback(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// NewToken returns a new random token, 32 bytes in URL-safe base64, for
// [Config.Token].
func NewToken() string {
	return base64.RawURLEncoding.EncodeToString(randBytes(32))
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}
