package bodytap

import (
	"bytes"
	"net/url"
	"slices"
)

// Clone returns a deep copy of x, which the caller may change without
// touching x: headers, body copies, the URL, the list of informational
// responses and the chunk timings are copied. Only what cannot change is
// shared: the errors and the URL's *url.Userinfo. Clone of nil is nil.
//
// Sinks sharing an exchange through [Multi] use it to get one of their
// own to change.
func (x *Exchange) Clone() *Exchange {
	if x == nil {
		return nil
	}
	y := *x
	y.notes = nil
	y.owner = nil
	y.url = url.URL{}
	if x.Request.URL != nil {
		y.url = *x.Request.URL
		y.Request.URL = &y.url
	}
	y.Request.Header = x.Request.Header.Clone()
	y.Request.Body.Bytes = bytes.Clone(x.Request.Body.Bytes)
	y.Response.Header = x.Response.Header.Clone()
	y.Response.Trailer = x.Response.Trailer.Clone()
	y.Response.Body.Bytes = bytes.Clone(x.Response.Body.Bytes)
	y.Response.Chunks = slices.Clone(x.Response.Chunks)
	if x.Response.Informational != nil {
		y.Response.Informational = make([]Informational, len(x.Response.Informational))
		for i, in := range x.Response.Informational {
			y.Response.Informational[i] = Informational{Status: in.Status, Header: in.Header.Clone()}
		}
	}
	return &y
}
