// Package sample is the small API that `bodytap demo` captures: JSON
// endpoints (one with a password, to show redaction), a Server-Sent Events
// stream, a gzip-encoded body, a PNG image and a binary download — and the
// traffic the demo sends it.
package sample

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler returns the sample API.
func Handler() http.Handler {
	var (
		mu    sync.Mutex
		users = []user{{1, "Ada", "ada@example.com"}, {2, "Grace", "grace@example.com"}}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, http.StatusOK, users)
	})
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		mu.Lock()
		defer mu.Unlock()
		for _, u := range users {
			if u.ID == id {
				writeJSON(w, http.StatusOK, u)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such user"})
	})
	mux.HandleFunc("POST /api/users", func(w http.ResponseWriter, r *http.Request) {
		var u user
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&u); err != nil || u.Name == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"name\": ..., \"email\": ...}"})
			return
		}
		mu.Lock()
		u.ID = len(users) + 1
		users = append(users, u)
		mu.Unlock()
		w.Header().Set("Location", "/api/users/"+strconv.Itoa(u.ID))
		writeJSON(w, http.StatusCreated, u)
	})
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		var creds struct{ Username, Password string }
		json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&creds)
		if creds.Password == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "password required"})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3ss10n-" + creds.Username, HttpOnly: true, Path: "/"})
		writeJSON(w, http.StatusOK, map[string]string{"token": "tok-" + creds.Username + "-very-secret"})
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		n := 5
		if s := r.URL.Query().Get("n"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		for i := range n {
			fmt.Fprintf(w, "id: %d\ndata: {\"tick\":%d}\n\n", i, i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, strings.Repeat("This body is gzip-compressed on the wire; bodytap shows it decoded.\n", 20))
		zw.Close()
	})
	mux.HandleFunc("GET /image.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngImage())
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		size := int64(1 << 20)
		if s := r.URL.Query().Get("size"); s != "" {
			size, _ = strconv.ParseInt(s, 10, 64)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, io.LimitReader(pattern{}, size))
	})
	return mux
}

type user struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

// pngImage draws a small gradient.
var pngImage = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 160, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
})

// pattern yields a repeating byte pattern, so the download is binary.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return len(p), nil
}

// A Request is one request of the sample traffic.
type Request struct {
	Method, Path, Body string
	Header             map[string]string
}

// Traffic is the sample traffic the demo sends.
var Traffic = []Request{
	{Method: "GET", Path: "/api/users"},
	{Method: "POST", Path: "/api/users", Body: `{"name":"Linus","email":"linus@example.com"}`, Header: map[string]string{"Content-Type": "application/json"}},
	{Method: "GET", Path: "/api/users/3"},
	{Method: "GET", Path: "/api/users/42"},
	{Method: "POST", Path: "/api/login?api_key=k3y", Body: `{"username":"ada","password":"hunter2"}`, Header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer abc.def.ghi"}},
	{Method: "GET", Path: "/events"},
	{Method: "GET", Path: "/gzip", Header: map[string]string{"Accept-Encoding": "gzip"}},
	{Method: "GET", Path: "/image.png"},
	{Method: "GET", Path: "/download"},
	{Method: "GET", Path: "/missing"},
}

// Send sends the sample traffic to base (a URL such as
// http://127.0.0.1:8080) and reads every response to its end.
func Send(ctx context.Context, client *http.Client, base string) error {
	for _, r := range Traffic {
		req, err := http.NewRequestWithContext(ctx, r.Method, base+r.Path, strings.NewReader(r.Body))
		if err != nil {
			return err
		}
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
		}
	}
	return nil
}
