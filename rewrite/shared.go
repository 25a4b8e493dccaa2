package rewrite

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Copied from package bodytap, which has the same needs.

// sniffLen is how many bytes net/http reads for content sniffing before
// ReadFrom sends the headers.
const sniffLen = 512

// inlineBytes is the room for a body held inside the per-request struct,
// so that a small response needs no allocation of its own.
const inlineBytes = 1 << 10

// trailers returns the trailers in h that the handler set: those declared
// in the Trailer header sent (sent) and those named with http.TrailerPrefix.
func trailers(sent, h http.Header) http.Header {
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
