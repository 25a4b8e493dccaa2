package decode

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

func TestFunc(t *testing.T) {
	plain := testutil.Text(10 << 10)
	for _, coding := range []string{"gzip", "x-gzip", "deflate", "br", "zstd", "gzip, br", "identity, zstd"} {
		t.Run(coding, func(t *testing.T) {
			body := encode(t, coding, plain)
			out, removed, err := Func(coding, body, 1<<20, false)
			want := strings.TrimPrefix(strings.ReplaceAll(coding, "x-gzip", "gzip"), "identity, ")
			if err != nil || !bytes.Equal(out, plain) || removed != want {
				t.Fatalf("got %d bytes, %q, %v; want %d bytes, %q, nil", len(out), removed, err, len(plain), want)
			}
			out, _, err = Func(coding, body, 100, false)
			if err != nil || !bytes.Equal(out, plain[:100]) {
				t.Errorf("limit 100: got %d bytes, %v; want the first 100", len(out), err)
			}
			out, _, err = Func(coding, body[:len(body)/2], 1<<20, true)
			if err != nil || !bytes.HasPrefix(plain, out) {
				t.Errorf("truncated input: got %d bytes, %v; want a prefix of the body", len(out), err)
			}
		})
	}
	for _, c := range []struct{ coding, body string }{{"compress", "x"}, {"br", "not brotli at all"}} {
		out, removed, err := Func(c.coding, []byte(c.body), 1<<20, false)
		if err == nil || out != nil || removed != "" {
			t.Errorf("%s: got %q, %q, %v; want nil, \"\" and an error", c.coding, out, removed, err)
		}
	}
	if _, _, err := Func("compress", []byte("x"), 0, false); !errors.Is(err, ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

// sinkChan is a bodytap.Sink that hands exchanges over a channel.
type sinkChan chan *bodytap.Exchange

func (c sinkChan) Record(x *bodytap.Exchange) { c <- x }

func (c sinkChan) next(tb testing.TB) *bodytap.Exchange {
	tb.Helper()
	select {
	case x := <-c:
		return x
	case <-time.After(10 * time.Second):
		tb.Fatal("no exchange delivered within 10s")
		return nil
	}
}

// TestFuncTap runs a Tap with Config.Decode set to Func behind a real
// server: br and zstd bodies reach the sink decoded and redacted, while
// the handler and the client get the bytes as sent.
func TestFuncTap(t *testing.T) {
	const red = bodytap.DefaultReplacement
	const reqPlain = `{"user":"bob","password":"hunter2","cards":[{"card_number":"4111"}]}`
	const respPlain = `{"access_token":"tok-123","refresh_token":"r","expires_in":3600}`
	reqBody := encode(t, "zstd", []byte(reqPlain))
	respBody := encode(t, "br", []byte(respPlain))

	sink := make(sinkChan, 4)
	tap := bodytap.New(bodytap.Config{Sink: sink, Decode: Func})
	defer tap.Close()
	var handlerGot []byte
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlerGot, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "br")
		w.Write(respBody)
	})))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(reqBody))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Content-Encoding", "zstd")
	req.Header.Set("Accept-Encoding", "br")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	clientGot, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(handlerGot, reqBody) || !bytes.Equal(clientGot, respBody) {
		t.Fatalf("the wire changed: handler got %q, client got %q", handlerGot, clientGot)
	}

	x := sink.next(t)
	for _, c := range []struct {
		side    string
		b       bodytap.Body
		want    string
		coding  string
		wireLen int
	}{
		{"request", x.Request.Body, `{"user":"bob","password":"` + red + `","cards":[{"card_number":"` + red + `"}]}`, "zstd", len(reqBody)},
		{"response", x.Response.Body, `{"access_token":"` + red + `","refresh_token":"` + red + `","expires_in":3600}`, "br", len(respBody)},
	} {
		b := c.b
		if string(b.Bytes) != c.want || b.Decoded != c.coding || !b.Redacted || b.Withheld || b.Size != int64(c.wireLen) || b.Err != nil {
			t.Errorf("%s: got %q, Decoded %q, Redacted %v, Withheld %v, Size %d, Err %v;\nwant %q, %q, true, false, %d, nil",
				c.side, b.Bytes, b.Decoded, b.Redacted, b.Withheld, b.Size, b.Err, c.want, c.coding, c.wireLen)
		}
	}
}

// TestFuncTapBomb: a br or zstd bomb reaches the sink cut at the Tap's
// DecodeLimit, and marked Truncated.
func TestFuncTapBomb(t *testing.T) {
	const limit = 1 << 20
	for _, coding := range []string{"br", "zstd"} {
		t.Run(coding, func(t *testing.T) {
			var zs bytes.Buffer
			w := newWriter(t, coding, &zs)
			io.CopyN(w, testutil.Zeros{}, 16<<20)
			w.Close()
			bomb := zs.Bytes()

			sink := make(sinkChan, 1)
			tap := bodytap.New(bodytap.Config{Sink: sink, Decode: Func, DecodeLimit: limit, MaxBodyBytes: 1 << 20})
			defer tap.Close()
			srv := httptest.NewServer(tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("Content-Encoding", coding)
				w.Write(bomb)
			})))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", coding)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			b := sink.next(t).Response.Body
			if len(b.Bytes) != limit || !b.Truncated || b.Decoded != coding || b.Withheld || b.Size != int64(len(bomb)) {
				t.Errorf("got %d bytes, Truncated %v, Decoded %q, Withheld %v, Size %d, Err %v; want %d, true, %q, false, %d",
					len(b.Bytes), b.Truncated, b.Decoded, b.Withheld, b.Size, b.Err, limit, coding, len(bomb))
			}
		})
	}
}
