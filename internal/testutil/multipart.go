package testutil

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"testing"
)

// A Part is one part of a multipart/form-data body.
type Part struct {
	Name        string // the form field's name
	Filename    string // none if empty
	ContentType string // no Content-Type header if empty
	Content     string
}

// Multipart returns a multipart/form-data body of parts, delimited by
// boundary.
func Multipart(tb testing.TB, boundary string, parts []Part) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		tb.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.Name)
		if p.Filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.Filename)
		}
		h.Set("Content-Disposition", disp)
		if p.ContentType != "" {
			h.Set("Content-Type", p.ContentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(pw, p.Content)
	}
	w.Close()
	return buf.Bytes()
}
