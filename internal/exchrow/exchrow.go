// Package exchrow turns an exchange into what the stores keep of it
// besides their columns, and back: its JSON form without the body copies
// (see package jsonl), the shape bits that the JSON form loses (empty
// but not nil maps and slices), and the strings that are not valid UTF-8.
// Package store (SQLite) and package pgstore (PostgreSQL) share it, so
// that both return from Get what Record was given.
package exchrow

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
)

// Bits of Shape: what the JSON form of an exchange does not tell
// apart, so that Get returns what Record was given.
const (
	ShapeReqHeader  = 1 << 0 // Request.Header is empty, not nil
	ShapeRespHeader = 1 << 1 // Response.Header is empty, not nil
	ShapeTrailer    = 1 << 2 // Response.Trailer is empty, not nil
	ShapeInfo       = 1 << 3 // Response.Informational is empty, not nil
	ShapeReqBody    = 1 << 4 // Request.Body.Bytes is empty, not nil
	ShapeRespBody   = 1 << 5 // Response.Body.Bytes is empty, not nil
	// ShapeInfoHeader<<i: Response.Informational[i].Header is empty, not
	// nil, for i < MaxShapeInfo.
	ShapeInfoHeader = 1 << 6
	MaxShapeInfo    = 56
)

// ContentTypes returns the values of the Content-Type header in h, under
// any spelling of its name, as the filters ~t, ~tq and ~ts see them.
func ContentTypes(h http.Header) []string {
	if v, ok := h["Content-Type"]; ok && len(h) > 0 {
		// The usual case; only an odd spelling next to it could add more.
		n := 0
		for k := range h {
			if len(k) == len("Content-Type") && strings.EqualFold(k, "Content-Type") {
				n++
			}
		}
		if n == 1 {
			return v
		}
	}
	var vs []string
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") {
			vs = append(vs, v...)
		}
	}
	return vs
}

// encodeList encodes a list of header values as one column value: ""
// for none, the value itself for one non-empty value, and else NUL

// Meta returns the JSON form of x (see package jsonl)
// without the body copies, which go in columns of their own.
func Meta(x *bodytap.Exchange) ([]byte, error) {
	y := *x
	y.Request.Body.Bytes = nil
	y.Response.Body.Bytes = nil
	if unparsable(x.Request.URL) {
		// The JSON form could not be read back: Raw keeps the URL.
		y.Request.URL = nil
	}
	b, err := jsonl.Marshal(&y)
	if err != nil {
		return nil, fmt.Errorf("encode exchange %s: %w", x.ID, err)
	}
	return b, nil
}

func Shape(x *bodytap.Exchange) int64 {
	var s int64
	emptyMap := func(h http.Header, bit int64) {
		if h != nil && len(h) == 0 {
			s |= bit
		}
	}
	emptyMap(x.Request.Header, ShapeReqHeader)
	emptyMap(x.Response.Header, ShapeRespHeader)
	emptyMap(x.Response.Trailer, ShapeTrailer)
	if x.Response.Informational != nil && len(x.Response.Informational) == 0 {
		s |= ShapeInfo
	}
	for i, in := range x.Response.Informational[:min(len(x.Response.Informational), MaxShapeInfo)] {
		emptyMap(in.Header, ShapeInfoHeader<<i)
	}
	if x.Request.Body.Bytes != nil && len(x.Request.Body.Bytes) == 0 {
		s |= ShapeReqBody
	}
	if x.Response.Body.Bytes != nil && len(x.Response.Body.Bytes) == 0 {
		s |= ShapeRespBody
	}
	return s
}

// rawStrings are the strings of an exchange that its JSON form would
// change because they are not valid UTF-8; only those that are not are
// set.
type rawStrings struct {
	Method, URL, Proto, Host, RemoteAddr, Route, Err string
	ReqErr, RespErr, ReqDecoded, RespDecoded         string
	ReqHeader, RespHeader, Trailer                   http.Header
	Info                                             map[int]http.Header
	// URLParts is the URL when its text does not parse back (see
	// unparsable), and URL is then empty.
	URLParts *urlParts
}

// urlParts are the fields of a url.URL, which gob cannot encode itself
// (its Userinfo has no exported fields).
type urlParts struct {
	Scheme, Opaque, Host, Path, RawPath, RawQuery, Fragment, RawFragment string
	ForceQuery, OmitHost                                                 bool
	User                                                                 bool
	Username, Password                                                   string
	HasPassword                                                          bool
}

func partsOf(u *url.URL) *urlParts {
	p := &urlParts{Scheme: u.Scheme, Opaque: u.Opaque, Host: u.Host, Path: u.Path, RawPath: u.RawPath,
		RawQuery: u.RawQuery, Fragment: u.Fragment, RawFragment: u.RawFragment, ForceQuery: u.ForceQuery, OmitHost: u.OmitHost}
	if u.User != nil {
		p.User, p.Username = true, u.User.Username()
		p.Password, p.HasPassword = u.User.Password()
	}
	return p
}

func (p *urlParts) url() *url.URL {
	u := &url.URL{Scheme: p.Scheme, Opaque: p.Opaque, Host: p.Host, Path: p.Path, RawPath: p.RawPath,
		RawQuery: p.RawQuery, Fragment: p.Fragment, RawFragment: p.RawFragment, ForceQuery: p.ForceQuery, OmitHost: p.OmitHost}
	switch {
	case p.HasPassword:
		u.User = url.UserPassword(p.Username, p.Password)
	case p.User:
		u.User = url.User(p.Username)
	}
	return u
}

// unparsable reports whether url.Parse fails on the text of u: u.String()
// writes the scheme, an opaque part and the query as they are, so that a
// control character there, or a host that is not one (its bytes escaped
// with %), makes a text that url.Parse refuses. Only URLs that have such
// bytes are parsed to tell.
func unparsable(u *url.URL) bool {
	if u == nil {
		return false
	}
	odd := false
	for _, s := range [...]string{u.Scheme, u.Opaque, u.RawQuery, u.Host} {
		for i := 0; i < len(s) && !odd; i++ {
			odd = s[i] < 0x20 || s[i] == 0x7f || s[i] == ' ' || s[i] == '%'
		}
	}
	if !odd {
		return false
	}
	_, err := url.Parse(u.String())
	return err != nil
}

// Raw returns what rawStrings holds for x (whose URL's text is
// urlText), gob-encoded, or nil if all of x's strings are valid UTF-8 (as
// they almost always are).
func Raw(x *bodytap.Exchange, urlText string) ([]byte, error) {
	var r rawStrings
	found := false
	str := func(dst *string, s string) {
		if !utf8.ValidString(s) {
			*dst, found = s, true
		}
	}
	hdr := func(dst *http.Header, h http.Header) {
		for k, vs := range h {
			ok := utf8.ValidString(k)
			for _, v := range vs {
				ok = ok && utf8.ValidString(v)
			}
			if !ok {
				*dst, found = h, true
				return
			}
		}
	}
	errText := func(dst *string, err error) {
		if err != nil {
			str(dst, err.Error())
		}
	}
	str(&r.Method, x.Request.Method)
	switch {
	case unparsable(x.Request.URL):
		r.URLParts, found = partsOf(x.Request.URL), true
	case x.Request.URL != nil:
		str(&r.URL, urlText)
	}
	str(&r.Proto, x.Request.Proto)
	str(&r.Host, x.Request.Host)
	str(&r.RemoteAddr, x.Request.RemoteAddr)
	str(&r.Route, x.Route)
	errText(&r.Err, x.Err)
	errText(&r.ReqErr, x.Request.Body.Err)
	errText(&r.RespErr, x.Response.Body.Err)
	str(&r.ReqDecoded, x.Request.Body.Decoded)
	str(&r.RespDecoded, x.Response.Body.Decoded)
	hdr(&r.ReqHeader, x.Request.Header)
	hdr(&r.RespHeader, x.Response.Header)
	hdr(&r.Trailer, x.Response.Trailer)
	for i, in := range x.Response.Informational {
		var h http.Header
		if hdr(&h, in.Header); h != nil {
			if r.Info == nil {
				r.Info = make(map[int]http.Header)
			}
			r.Info[i] = h
		}
	}
	if !found {
		return nil, nil
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&r); err != nil {
		return nil, fmt.Errorf("encode exchange %s: %w", x.ID, err)
	}
	return b.Bytes(), nil
}

// applyRaw puts back into x the strings that raw (from Raw) holds.
func applyRaw(x *bodytap.Exchange, raw []byte) error {
	var r rawStrings
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return err
	}
	set := func(dst *string, s string) {
		if s != "" {
			*dst = s
		}
	}
	set(&x.Request.Method, r.Method)
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil {
			return err
		}
		x.Request.URL = u
	}
	if r.URLParts != nil {
		x.Request.URL = r.URLParts.url()
	}
	set(&x.Request.Proto, r.Proto)
	set(&x.Request.Host, r.Host)
	set(&x.Request.RemoteAddr, r.RemoteAddr)
	set(&x.Route, r.Route)
	set(&x.Request.Body.Decoded, r.ReqDecoded)
	set(&x.Response.Body.Decoded, r.RespDecoded)
	if r.Err != "" {
		x.Err = bodytap.ErrorFromText(r.Err)
	}
	if r.ReqErr != "" {
		x.Request.Body.Err = bodytap.ErrorFromText(r.ReqErr)
	}
	if r.RespErr != "" {
		x.Response.Body.Err = bodytap.ErrorFromText(r.RespErr)
	}
	if r.ReqHeader != nil {
		x.Request.Header = r.ReqHeader
	}
	if r.RespHeader != nil {
		x.Response.Header = r.RespHeader
	}
	if r.Trailer != nil {
		x.Response.Trailer = r.Trailer
	}
	for i, h := range r.Info {
		if i < len(x.Response.Informational) {
			x.Response.Informational[i].Header = h
		}
	}
	return nil
}

// Decode rebuilds an exchange from what Meta, Shape and Raw made of it
// and its two body copies (nil when empty).
func Decode(meta []byte, shape int64, req, resp, raw []byte) (*bodytap.Exchange, error) {
	x := new(bodytap.Exchange)
	if err := jsonl.Unmarshal(meta, x); err != nil {
		return nil, err
	}
	if raw != nil {
		if err := applyRaw(x, raw); err != nil {
			return nil, err
		}
	}
	x.Request.Body.Bytes = bodyBytes(req, shape&ShapeReqBody != 0)
	x.Response.Body.Bytes = bodyBytes(resp, shape&ShapeRespBody != 0)
	if shape&ShapeReqHeader != 0 && x.Request.Header == nil {
		x.Request.Header = http.Header{}
	}
	if shape&ShapeRespHeader != 0 && x.Response.Header == nil {
		x.Response.Header = http.Header{}
	}
	if shape&ShapeTrailer != 0 && x.Response.Trailer == nil {
		x.Response.Trailer = http.Header{}
	}
	if shape&ShapeInfo != 0 && x.Response.Informational == nil {
		x.Response.Informational = []bodytap.Informational{}
	}
	for i := range x.Response.Informational[:min(len(x.Response.Informational), MaxShapeInfo)] {
		if shape&(ShapeInfoHeader<<i) != 0 && x.Response.Informational[i].Header == nil {
			x.Response.Informational[i].Header = http.Header{}
		}
	}
	return x, nil
}

func bodyBytes(b []byte, empty bool) []byte {
	switch {
	case len(b) > 0:
		return b
	case empty:
		return []byte{}
	}
	return nil
}

// Identified returns x, or when it has no ID (an import from a file that
// carried none) a copy of it with an ID made from its start.
func Identified(x *bodytap.Exchange) *bodytap.Exchange {
	if !x.ID.IsZero() {
		return x
	}
	y := *x
	y.ID = bodytap.NewID(x.Start)
	return &y
}
