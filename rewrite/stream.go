package rewrite

import (
	"net/http"
	"strings"
)

// streamingTypes are the media types that IsStreamingResponse takes for
// streams.
var streamingTypes = []string{
	"text/event-stream",
	"multipart/x-mixed-replace",
	"application/grpc",
	"application/grpc-web",
	"application/grpc-web-text",
	"application/x-ndjson",
	"application/jsonl",
	"application/json-seq",
}

// IsStreamingResponse is the default [Config.Stream]. It reports
// whether a response with header h is meant to reach the client as it is
// written: when its Content-Type is text/event-stream (Server-Sent Events),
// multipart/x-mixed-replace (MJPEG and other pushed frames),
// application/grpc or application/grpc-web (with any +suffix),
// application/x-ndjson, application/jsonl or application/json-seq, or when
// the handler set X-Accel-Buffering: no, the header with which servers ask
// proxies not to buffer them. The status is not used.
func IsStreamingResponse(status int, h http.Header) bool {
	if v := h["X-Accel-Buffering"]; len(v) > 0 && strings.EqualFold(v[0], "no") {
		return true
	}
	v := h["Content-Type"]
	if len(v) == 0 {
		return false
	}
	ct := v[0]
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	if i := strings.IndexByte(ct, '+'); i >= 0 && len(ct) > 16 && strings.EqualFold(ct[:16], "application/grpc") {
		ct = ct[:i]
	}
	for _, s := range streamingTypes {
		if len(ct) == len(s) && strings.EqualFold(ct, s) {
			return true
		}
	}
	return false
}
