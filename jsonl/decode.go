package jsonl

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bodytap/bodytap"
)

// exchangeJSON is the fixed JSON schema of an Exchange, documented in
// the package doc. Unmarshal reads it with encoding/json; Append
// (encode.go) writes it by hand, byte for byte as encoding/json would.
type exchangeJSON struct {
	ID              bodytap.ID            `json:"id"`
	Start           time.Time             `json:"start"`
	DurationNS      int64                 `json:"duration_ns"`
	TimeToHeadersNS int64                 `json:"time_to_headers_ns"`
	Route           string                `json:"route,omitempty"`
	Trace           *bodytap.TraceContext `json:"trace,omitempty"`
	Request         requestJSON           `json:"request"`
	Response        responseJSON          `json:"response"`
	Detected        []string              `json:"detected,omitempty"`
	Hijacked        bool                  `json:"hijacked,omitempty"`
	Error           string                `json:"error,omitempty"`
}

type requestJSON struct {
	Method        string      `json:"method"`
	URL           string      `json:"url"`
	Proto         string      `json:"proto,omitempty"`
	Host          string      `json:"host,omitempty"`
	RemoteAddr    string      `json:"remote_addr,omitempty"`
	Header        http.Header `json:"header,omitempty"`
	ContentLength int64       `json:"content_length"`
	Body          bodyJSON    `json:"body"`
}

type responseJSON struct {
	Status        int                 `json:"status"`
	Header        http.Header         `json:"header,omitempty"`
	Trailer       http.Header         `json:"trailer,omitempty"`
	Informational []informationalJSON `json:"informational,omitempty"`
	Body          bodyJSON            `json:"body"`
	Chunks        []chunkJSON         `json:"chunks,omitempty"`
	ChunksOmitted int                 `json:"chunks_omitted,omitempty"`
}

type chunkJSON struct {
	Offset int64 `json:"offset"`
	AtNS   int64 `json:"at_ns"`
}

type informationalJSON struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
}

type bodyJSON struct {
	Size      int64  `json:"size"`
	Text      string `json:"text,omitempty"`
	Base64    []byte `json:"base64,omitempty"` // encoding/json writes []byte in standard base64
	Encoding  string `json:"encoding,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	EOF       bool   `json:"eof"`
	Decoded   string `json:"decoded,omitempty"`
	Redacted  bool   `json:"redacted,omitempty"`
	Withheld  bool   `json:"withheld,omitempty"`
	Error     string `json:"error,omitempty"`
}

// errText returns the text of err, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Unmarshal reads the JSON form of an exchange, as [Marshal] writes it,
// into x, replacing what x held. Bodies come back byte for byte. Err and
// Body.Err come back as errors with the same text; those made from
// bodytap's sentinel errors ([bodytap.ErrClientGone],
// [bodytap.ErrHandlerPanic], [bodytap.ErrAborted], [bodytap.ErrHijacked])
// wrap the sentinel again, so errors.Is still finds it (see
// [bodytap.ErrorFromText]). Start is in UTC, and a header that was empty
// comes back nil. Unknown fields are ignored. On error x is unchanged.
func Unmarshal(data []byte, x *bodytap.Exchange) error {
	if err := decode(data, x); err != nil {
		return fmt.Errorf("jsonl: decode exchange: %w", err)
	}
	return nil
}

func decode(data []byte, x *bodytap.Exchange) error {
	var j exchangeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	y := bodytap.Exchange{
		ID:            j.ID,
		Start:         j.Start,
		Duration:      time.Duration(j.DurationNS),
		TimeToHeaders: time.Duration(j.TimeToHeadersNS),
		Route:         j.Route,
		Hijacked:      j.Hijacked,
		Err:           bodytap.ErrorFromText(j.Error),
		Request: bodytap.Request{
			Method:        j.Request.Method,
			Proto:         j.Request.Proto,
			Host:          j.Request.Host,
			RemoteAddr:    j.Request.RemoteAddr,
			Header:        j.Request.Header,
			ContentLength: j.Request.ContentLength,
		},
		Response: bodytap.Response{
			Status:        j.Response.Status,
			Header:        j.Response.Header,
			Trailer:       j.Response.Trailer,
			ChunksOmitted: j.Response.ChunksOmitted,
		},
	}
	if j.Request.URL != "" {
		u, err := url.Parse(j.Request.URL)
		if err != nil {
			return fmt.Errorf("request.url: %w", err)
		}
		y.Request.URL = u
	}
	if j.Trace != nil {
		y.Trace = *j.Trace
	}
	for _, n := range j.Detected {
		y.Detected |= bodytap.DetectorNamed(n) // a name this version does not know is dropped
	}
	for _, i := range j.Response.Informational {
		y.Response.Informational = append(y.Response.Informational, bodytap.Informational(i))
	}
	for _, c := range j.Response.Chunks {
		y.Response.Chunks = append(y.Response.Chunks, bodytap.Chunk{Offset: c.Offset, At: time.Duration(c.AtNS)})
	}
	var err error
	if y.Request.Body, err = bodyFromJSON(&j.Request.Body); err != nil {
		return fmt.Errorf("request.body: %w", err)
	}
	if y.Response.Body, err = bodyFromJSON(&j.Response.Body); err != nil {
		return fmt.Errorf("response.body: %w", err)
	}
	*x = y
	return nil
}

func bodyFromJSON(j *bodyJSON) (bodytap.Body, error) {
	b := bodytap.Body{
		Size:      j.Size,
		Truncated: j.Truncated,
		EOF:       j.EOF,
		Decoded:   j.Decoded,
		Redacted:  j.Redacted,
		Withheld:  j.Withheld,
		Err:       bodytap.ErrorFromText(j.Error),
	}
	switch {
	case j.Encoding != "" && j.Encoding != "base64":
		return b, fmt.Errorf("unknown encoding %q", j.Encoding)
	case j.Text != "" && j.Base64 != nil:
		return b, errors.New(`both "text" and "base64"`)
	case j.Encoding == "base64" && j.Text != "":
		return b, errors.New(`"text" with "encoding": "base64"`)
	case len(j.Base64) > 0:
		b.Bytes = j.Base64
	case j.Text != "":
		b.Bytes = []byte(j.Text)
	}
	return b, nil
}
