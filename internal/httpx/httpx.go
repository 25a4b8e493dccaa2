// Package httpx holds the facts about net/http that bodytap's middlewares
// share and that net/http does not export.
package httpx

import (
	"net/http"
	"net/textproto"
	"strings"
)

// SniffLen is how many bytes net/http reads for content sniffing before
// ReadFrom sends the headers.
const SniffLen = 512

// Trailers returns the trailers in h that the handler set: those declared
// in the Trailer header sent (sent) and those named with http.TrailerPrefix.
// It returns nil when there are none.
func Trailers(sent, h http.Header) http.Header {
	var tr http.Header
	for _, v := range sent["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			k = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
			if vv, ok := h[k]; ok && k != "" {
				if tr == nil {
					tr = http.Header{}
				}
				tr[k] = vv
			}
		}
	}
	for k, vv := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if tr == nil {
				tr = http.Header{}
			}
			tr[textproto.CanonicalMIMEHeaderKey(name)] = vv
		}
	}
	return tr
}
