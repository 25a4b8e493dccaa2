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
	"github.com/bodytap/bodytap/stores"
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
	lo, hi, err := idRange(pos[0])
	if err != nil {
		return err
	}
	if *which != "" && *which != "request" && *which != "response" {
		return usagef("--body %q: want request or response", *which)
	}
	if *raw && *which == "" {
		return usagef("--raw needs --body request or --body response")
	}
	s, err := openStore(ctx, *db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := findID(ctx, s, pos[0], lo, hi, dbName(*db))
	if err != nil {
		return err
	}
	x, err := s.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no exchange %s in %s", id, dbName(*db))
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
			writeBody(w, b, h, rawHint(e, x.ID, *which))
		}
	default:
		writeExchange(w, x, e)
	}
	return w.Flush()
}

// writeExchange prints an exchange for a person: request line, headers,
// body, then the same for the response.
func writeExchange(w io.Writer, x *bodytap.Exchange, e *env) {
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
	writeBodySection(w, "request", &x.Request.Body, x.Request.Header, rawHint(e, x.ID, "request"))

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
	writeBodySection(w, "response", &x.Response.Body, x.Response.Header, rawHint(e, x.ID, "response"))
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
func writeBodySection(w io.Writer, what string, b *bodytap.Body, h http.Header, hint string) {
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
	writeBody(w, b, h, hint)
}

// hexShown is how much of a binary body show prints as a hex dump: the
// start says what it is; the rest is for a file.
const hexShown = 512

// rawHint returns the command that writes a body's bytes to a file.
func rawHint(e *env, id bodytap.ID, which string) string {
	return fmt.Sprintf("%s show %s --body %s --raw > FILE", e.name, id, which)
}

// writeBody prints a body decoded for reading: content codings undone,
// JSON indented, text in UTF-8, anything else as a hex dump of its first
// hexShown bytes, then the command that writes them all (hint).
func writeBody(w io.Writer, b *bodytap.Body, h http.Header, hint string) {
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
	if len(p) <= hexShown {
		io.WriteString(w, hex.Dump(p))
		return
	}
	io.WriteString(w, hex.Dump(p[:hexShown]))
	fmt.Fprintf(w, "... %d more bytes; all %d as captured: %s\n", len(p)-hexShown, len(b.Bytes), hint)
}

// idRange returns the least and the greatest ID that start with prefix,
// a whole ID or the start of one.
func idRange(prefix string) (lo, hi bodytap.ID, err error) {
	bad := usagef("%q: not an exchange ID or the start of one", prefix)
	if prefix == "" || len(prefix) > 26 || prefix[0] > '7' {
		return lo, hi, bad
	}
	pad := 26 - len(prefix)
	if lo, err = bodytap.ParseID(prefix + strings.Repeat("0", pad)); err != nil {
		return lo, hi, bad
	}
	if hi, err = bodytap.ParseID(prefix + strings.Repeat("Z", pad)); err != nil {
		return lo, hi, bad
	}
	return lo, hi, nil
}

// findID returns the one exchange ID of the store between lo and hi, the
// IDs that start with prefix (as git finds a commit by the start of its
// hash).
func findID(ctx context.Context, s stores.Store, prefix string, lo, hi bodytap.ID, db string) (bodytap.ID, error) {
	if lo == hi {
		return lo, nil // a whole ID
	}
	// After and Before exclude their bounds.
	q := store.Query{After: addID(lo, false), Before: addID(hi, true), Limit: 3}
	rows, err := s.List(ctx, q)
	if err != nil {
		return bodytap.ID{}, err
	}
	switch len(rows) {
	case 0:
		return bodytap.ID{}, fmt.Errorf("no exchange ID starts with %s in %s", prefix, db)
	case 1:
		return rows[0].ID, nil
	}
	q.Limit = 0
	n, err := s.Count(ctx, q)
	if err != nil {
		return bodytap.ID{}, err
	}
	return bodytap.ID{}, usagef("%s is ambiguous: %d exchange IDs start with it, such as %s and %s; give more of the ID", prefix, n, rows[0].ID, rows[1].ID)
}

// addID returns id+1 (up) or id-1, or the zero ID (no bound, for a
// query) when that wraps around.
func addID(id bodytap.ID, up bool) bodytap.ID {
	for i := len(id) - 1; i >= 0; i-- {
		if up {
			id[i]++
			if id[i] != 0 {
				return id
			}
		} else {
			id[i]--
			if id[i] != 0xff {
				return id
			}
		}
	}
	return bodytap.ID{}
}
