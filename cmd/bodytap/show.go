package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/coding"
	"github.com/bodytap/bodytap/internal/media"
	"github.com/bodytap/bodytap/jsonl"
	"github.com/bodytap/bodytap/store"
)

func runShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags("show")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print the exchange as JSON")
	which := fs.String("body", "", "print only this body: `request` or response")
	raw := fs.Bool("raw", false, "with --body: write the body bytes as captured, undecoded")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one exchange ID, got %d arguments", len(pos))
	}
	id, err := bodytap.ParseID(pos[0])
	if err != nil {
		return usagef("%q: not an exchange ID", pos[0])
	}
	if *which != "" && *which != "request" && *which != "response" {
		return usagef("--body %q: want request or response", *which)
	}
	if *raw && *which == "" {
		return usagef("--raw needs --body request or --body response")
	}
	s, err := openStore(*db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	x, err := s.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no exchange %s in %s", id, *db)
	}
	if err != nil {
		return err
	}

	w := bufio.NewWriter(e.stdout)
	switch {
	case *asJSON:
		b, err := jsonl.Marshal(x)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		json.Indent(&out, b, "", "  ") // b is valid JSON
		out.WriteTo(w)
		w.WriteByte('\n')
	case *which != "":
		b, h := &x.Request.Body, x.Request.Header
		if *which == "response" {
			b, h = &x.Response.Body, x.Response.Header
		}
		if *raw {
			w.Write(b.Bytes)
		} else {
			writeBody(w, b, h)
		}
	default:
		writeExchange(w, x)
	}
	return w.Flush()
}

// writeExchange prints an exchange for a person: request line, headers,
// body, then the same for the response.
func writeExchange(w io.Writer, x *bodytap.Exchange) {
	fmt.Fprintf(w, "%s  %s  took %s (headers after %s)\n", x.ID, x.Start.Local().Format("2006-01-02 15:04:05.000 MST"),
		roundDuration(x.Duration), roundDuration(x.TimeToHeaders))
	if x.Route != "" {
		fmt.Fprintf(w, "route: %s\n", x.Route)
	}
	if x.Request.RemoteAddr != "" {
		fmt.Fprintf(w, "client: %s\n", x.Request.RemoteAddr)
	}
	if x.Err != nil {
		fmt.Fprintf(w, "error: %v\n", x.Err)
	}
	if x.Hijacked {
		fmt.Fprintf(w, "hijacked: the handler took over the connection\n")
	}
	u := ""
	if x.Request.URL != nil {
		u = x.Request.URL.String()
	}
	fmt.Fprintf(w, "\n%s %s %s\n", x.Request.Method, u, x.Request.Proto)
	writeHeader(w, x.Request.Header)
	writeBodySection(w, "request", &x.Request.Body, x.Request.Header)

	for _, i := range x.Response.Informational {
		fmt.Fprintf(w, "\n%s %d %s\n", x.Request.Proto, i.Status, http.StatusText(i.Status))
		writeHeader(w, i.Header)
	}
	if x.Response.Status == 0 {
		fmt.Fprintf(w, "\n(no response)\n")
		return
	}
	fmt.Fprintf(w, "\n%s %d %s\n", x.Request.Proto, x.Response.Status, http.StatusText(x.Response.Status))
	writeHeader(w, x.Response.Header)
	writeBodySection(w, "response", &x.Response.Body, x.Response.Header)
	if len(x.Response.Trailer) > 0 {
		fmt.Fprintf(w, "\ntrailers:\n")
		writeHeader(w, x.Response.Trailer)
	}
}

func writeHeader(w io.Writer, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

// writeBodySection prints a line describing a body, then the body.
func writeBodySection(w io.Writer, what string, b *bodytap.Body, h http.Header) {
	if b.Size == 0 && len(b.Bytes) == 0 && b.Err == nil {
		return
	}
	var notes []string
	if b.Truncated {
		notes = append(notes, fmt.Sprintf("truncated: %d of %d bytes kept", len(b.Bytes), b.Size))
	}
	if !b.EOF {
		notes = append(notes, "not read to the end")
	}
	if b.Decoded != "" {
		notes = append(notes, b.Decoded+" decoded")
	}
	if b.Redacted {
		notes = append(notes, "redacted")
	}
	if b.Withheld {
		notes = append(notes, "withheld")
	}
	if b.Err != nil {
		notes = append(notes, "error: "+b.Err.Error())
	}
	fmt.Fprintf(w, "\n-- %s body: %d bytes", what, b.Size)
	if len(notes) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(notes, "; "))
	}
	fmt.Fprintf(w, " --\n")
	writeBody(w, b, h)
}

// writeBody prints a body decoded for reading: content codings undone,
// JSON indented, text in UTF-8, anything else as a hex dump.
func writeBody(w io.Writer, b *bodytap.Body, h http.Header) {
	p := b.Bytes
	if ce := coding.Header(h); coding.Count(ce) > 0 && b.Decoded == "" && len(p) > 0 {
		r, err := decode.Decode(ce, p, decode.DefaultLimit, b.Truncated)
		if err != nil {
			fmt.Fprintf(w, "(cannot decode %s: %v; showing the bytes as captured)\n", ce, err)
		} else {
			p = r.Bytes
		}
	}
	if len(p) == 0 {
		return
	}
	ct := h.Get("Content-Type")
	if media.IsJSON(ct, p) {
		var out bytes.Buffer
		if json.Indent(&out, p, "", "  ") == nil {
			out.WriteByte('\n')
			w.Write(out.Bytes())
			return
		}
	}
	if decode.IsText(ct, p) {
		if s, ok := decode.ToUTF8Prefix(ct, p); ok {
			io.WriteString(w, s)
			if !strings.HasSuffix(s, "\n") {
				io.WriteString(w, "\n")
			}
			return
		}
	}
	io.WriteString(w, hex.Dump(p))
}
