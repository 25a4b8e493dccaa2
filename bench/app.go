package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bodytap/bodytap/internal/payload"
)

// Cap is the number of bytes of each body that the bounded implementations
// keep: bodytap's default.
const Cap = 64 << 10

// A JSONWorkload is one request/response size of the JSON endpoints: the
// client posts Size bytes of JSON to Path and gets Size bytes of JSON back.
type JSONWorkload struct {
	Name string // json1k, json64k, json1m
	Path string // /json1k, ...
	Size int
}

// JSONWorkloads are the request/response sizes measured.
var JSONWorkloads = []JSONWorkload{
	{"json1k", "/json1k", 1 << 10},
	{"json64k", "/json64k", 64 << 10},
	{"json1m", "/json1m", 1 << 20},
}

// The streamed response: StreamChunks chunks of StreamChunk bytes, each
// flushed, with a pause between them.
const (
	StreamChunks = 64
	StreamChunk  = 1 << 10
	StreamPath   = "/stream"
	DownloadPath = "/download"
)

// payloads caches Payload results: the same bytes serve every request.
var payloads = map[[2]int][]byte{}

func init() {
	for _, w := range JSONWorkloads {
		payloads[[2]int{w.Size, 0}] = makePayload(w.Size, 0)
		payloads[[2]int{w.Size, 1}] = makePayload(w.Size, 1)
	}
	payloads[[2]int{StreamChunk, 2}] = makePayload(StreamChunk, 2)
}

// Payload returns n bytes of valid JSON, an object holding an array of
// small records and a padding string. seed makes different documents of
// the same size (0 for requests, 1 for responses). The field names are
// ones redaction leaves alone, so every implementation keeps the same
// bytes. The result must not be modified.
func Payload(n, seed int) []byte {
	if p, ok := payloads[[2]int{n, seed}]; ok {
		return p
	}
	return makePayload(n, seed)
}

func makePayload(n, seed int) []byte { return payload.Items(n, seed) }

// AppOptions configure the application.
type AppOptions struct {
	// DownloadFile is served by /download with io.Copy(w, f) and a
	// Content-Length, the way a file server lets net/http use sendfile.
	DownloadFile string

	// StreamPause is the pause between the chunks of /stream.
	StreamPause time.Duration

	// StreamGate, if set, is called after each chunk of /stream has been
	// flushed, with its index (tests use it to hold the handler).
	StreamGate func(i int)
}

// NewApp returns the net/http application every implementation of the
// net/http family wraps:
//
//	POST /json1k, /json64k, /json1m: reads the whole request body and
//	  answers with a JSON document of the same size
//	GET /stream: StreamChunks chunks, each flushed
//	GET /download: the file o.DownloadFile, through io.Copy
func NewApp(o AppOptions) http.Handler {
	mux := http.NewServeMux()
	for _, wl := range JSONWorkloads {
		resp := Payload(wl.Size, 1)
		mux.HandleFunc("POST "+wl.Path, func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(resp)
		})
	}
	mux.HandleFunc("GET "+StreamPath, func(w http.ResponseWriter, r *http.Request) {
		chunk := Payload(StreamChunk, 2)
		w.Header().Set("Content-Type", "application/octet-stream")
		f, _ := w.(http.Flusher) // the buffer-everything pattern has none
		for i := range StreamChunks {
			if i > 0 && o.StreamPause > 0 {
				time.Sleep(o.StreamPause)
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
			if o.StreamGate != nil {
				o.StreamGate(i)
			}
		}
	})
	mux.HandleFunc("GET "+DownloadPath, func(w http.ResponseWriter, r *http.Request) {
		f, size, err := openDownload(o.DownloadFile)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, f)
	})
	return mux
}

func openDownload(name string) (*os.File, int64, error) {
	if name == "" {
		return nil, 0, fmt.Errorf("bench: no download file configured")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// NewEchoApp returns the same application as [NewApp] written for echo,
// with mw installed as echo middleware.
func NewEchoApp(o AppOptions, mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(mw...)
	for _, wl := range JSONWorkloads {
		resp := Payload(wl.Size, 1)
		e.POST(wl.Path, func(c echo.Context) error {
			if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, err.Error())
			}
			return c.Blob(http.StatusOK, "application/json", resp)
		})
	}
	e.GET(StreamPath, func(c echo.Context) error {
		chunk := Payload(StreamChunk, 2)
		w := c.Response()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		for i := range StreamChunks {
			if i > 0 && o.StreamPause > 0 {
				time.Sleep(o.StreamPause)
			}
			if _, err := w.Write(chunk); err != nil {
				return nil
			}
			w.Flush()
			if o.StreamGate != nil {
				o.StreamGate(i)
			}
		}
		return nil
	})
	e.GET(DownloadPath, func(c echo.Context) error {
		f, size, err := openDownload(o.DownloadFile)
		if err != nil {
			return err
		}
		defer f.Close()
		c.Response().Header().Set("Content-Length", strconv.FormatInt(size, 10))
		// What c.Stream does; echo.Response has no ReadFrom.
		return c.Stream(http.StatusOK, "application/octet-stream", f)
	})
	return e
}

// WriteDownloadFile writes a file of size bytes (not compressible, not
// zeros) in a new temporary directory and returns its name. The caller
// removes the directory.
func WriteDownloadFile(size int64) (string, error) {
	dir, err := os.MkdirTemp("", "bodytap-bench-")
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, "download")
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	for written := int64(0); written < size; {
		n := min(int64(len(block)), size-written)
		if _, err := f.Write(block[:n]); err != nil {
			f.Close()
			return "", err
		}
		block[0]++ // successive blocks differ
		written += n
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return name, nil
}
