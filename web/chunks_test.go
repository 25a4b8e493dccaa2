package web

import (
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

func TestSSEEvents(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	ck := func(offset int64, at int) bodytap.Chunk { return bodytap.Chunk{Offset: offset, At: ms(at)} }
	tests := []struct {
		name    string
		body    string
		chunks  []bodytap.Chunk
		omitted int
		want    []string // "at|text"
	}{
		{"one event a chunk", "data: a\n\ndata: b\n\n",
			[]bodytap.Chunk{ck(9, 1), ck(18, 2)}, 0,
			[]string{"1.00 ms|data: a", "2.00 ms|data: b"}},
		{"two events in one chunk", "data: a\n\ndata: b\n\n",
			[]bodytap.Chunk{ck(18, 3)}, 0,
			[]string{"3.00 ms|data: a", "3.00 ms|data: b"}},
		{"event split over chunks", "data: a\ndata: b\n\n",
			[]bodytap.Chunk{ck(8, 1), ck(17, 4)}, 0,
			[]string{"4.00 ms|data: a\ndata: b"}},
		{"CRLF and CR", "id: 1\r\ndata: a\r\n\r\ndata: b\r\rdata: c\n\n",
			[]bodytap.Chunk{ck(18, 1), ck(27, 2), ck(36, 3)}, 0,
			[]string{"1.00 ms|id: 1\r\ndata: a", "2.00 ms|data: b", "3.00 ms|data: c"}},
		{"sent at the end", "data: a\n\ndata: b\n\n",
			[]bodytap.Chunk{ck(9, 1)}, 0,
			[]string{"1.00 ms|data: a", "20.0 ms|data: b"}},
		{"past the chunks recorded", "data: a\n\ndata: b\n\n",
			[]bodytap.Chunk{ck(9, 1)}, 5,
			[]string{"1.00 ms|data: a", "> 1.00 ms|data: b"}},
		{"cut short", "data: a\n\ndata: b",
			[]bodytap.Chunk{ck(9, 1), ck(30, 2)}, 0,
			[]string{"1.00 ms|data: a", "2.00 ms|data: b"}},
		{"blank lines first", "\n\n: hi\n\n",
			[]bodytap.Chunk{ck(8, 1)}, 0,
			[]string{"1.00 ms|: hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := webtest.NewEx(t, "GET", "http://api.test/events", 200).RespBody("text/event-stream", []byte(tt.body))
			x.Duration = ms(20)
			x.Response.Chunks, x.Response.ChunksOmitted = tt.chunks, tt.omitted
			var got []string
			for _, ev := range sseEvents(x.Exchange) {
				got = append(got, ev.At+"|"+ev.Text)
			}
			if strings.Join(got, "\n--\n") != strings.Join(tt.want, "\n--\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// Not an event stream, or no chunks, or a copy whose offsets are not
	// the wire's: no events.
	for name, change := range map[string]func(x webtest.Ex){
		"no chunks":     func(x webtest.Ex) { x.Response.Chunks = nil },
		"text/plain":    func(x webtest.Ex) { x.Response.Header.Set("Content-Type", "text/plain") },
		"decoded":       func(x webtest.Ex) { x.Response.Body.Decoded = "gzip" },
		"still in gzip": func(x webtest.Ex) { x.Response.Header.Set("Content-Encoding", "gzip") },
	} {
		x := webtest.NewEx(t, "GET", "http://api.test/events", 200).RespBody("text/event-stream", []byte("data: a\n\n"))
		x.Response.Chunks = []bodytap.Chunk{ck(9, 1)}
		change(x)
		if ev := sseEvents(x.Exchange); ev != nil {
			t.Errorf("%s: got %q, want none", name, ev)
		}
	}
}

// TestDetailChunks: a streamed response's page lists its chunks, and an
// event stream shows each event with when it went out, escaped.
func TestDetailChunks(t *testing.T) { eachStore(t, testDetailChunks) }

func testDetailChunks(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	body := "data: <b>one</b>\n\nevent: two\ndata: 2\n\n"
	x := webtest.NewEx(t, "GET", "http://api.test/events", 200).RespBody("text/event-stream", []byte(body))
	x.TimeToHeaders, x.Duration = time.Millisecond, 50*time.Millisecond
	x.Response.Chunks = []bodytap.Chunk{{Offset: 18, At: 12 * time.Millisecond}, {Offset: int64(len(body)), At: 40 * time.Millisecond}}
	x.Response.ChunksOmitted = 3
	plain := webtest.NewEx(t, "GET", "http://api.test/plain", 200).RespBody("text/event-stream", []byte(body))
	e.Record(x, plain)

	_, page := e.Get("/x/" + x.ID.String())
	for _, want := range []string{
		`<details class="chunks" id="chunks" open>`,
		`Streamed: 2 flushes`,
		`<tr><td>1</td><td>18</td><td>12.0 ms</td><td>&#43;11.0 ms</td></tr>`,
		`<tr><td>2</td><td>38</td><td>40.0 ms</td><td>&#43;28.0 ms</td></tr>`,
		`3 more flushes were not recorded`,
		`<div class="sse" id="sse-response">`,
		`<span class="at" title="sent by this time after the exchange started">12.0 ms</span><pre class="text">data: &lt;b&gt;one&lt;/b&gt;</pre>`,
		`<span class="at" title="sent by this time after the exchange started">40.0 ms</span><pre class="text">event: two` + "\n" + `data: 2</pre>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	_, page = e.Get("/x/" + plain.ID.String())
	if strings.Contains(page, `id="chunks"`) || strings.Contains(page, `class="sse"`) {
		t.Error("a response never flushed shows chunks")
	}
	if !strings.Contains(page, `<pre class="text" id="text-response">data: &lt;b&gt;one`) {
		t.Error("a response never flushed is not shown as text")
	}
}
