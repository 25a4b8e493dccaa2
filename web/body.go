package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
	"github.com/bodytap/bodytap/internal/coding"
	"github.com/bodytap/bodytap/internal/media"
)

const (
	// lazyLimit is the largest decoded body shown in the detail page
	// itself; a larger one is loaded on demand.
	lazyLimit = 256 << 10

	// hexInline is how much of a binary body the page shows as a hex
	// dump; the rest comes hexChunk at a time on demand.
	hexInline = 4 << 10
	hexChunk  = 64 << 10

	// maxJSONNodes and maxJSONDepth bound the foldable JSON tree; a
	// body past them is shown as indented text instead.
	maxJSONNodes = 10000
	maxJSONDepth = 64

	// openJSONDepth is how many levels of the tree start unfolded.
	openJSONDepth = 3
)

// rasterTypes are the image types previewed inline, by their sniffed
// type. SVG is never among them: it can carry script.
var rasterTypes = map[string]bool{
	"image/png":  true,
	"image/jpeg": true,
	"image/gif":  true,
	"image/webp": true,
	"image/bmp":  true,
}

// decodedBody is a captured body with its Content-Encoding undone.
type decodedBody struct {
	bytes   []byte
	codings string // codings undone here ("" if none were)
	cut     bool   // bytes stop at the limit
	partial bool   // the capture was truncated: bytes are a prefix
	err     error  // the coding could not be undone: bytes are as captured
}

// decodeBody undoes the Content-Encoding of a body, unless the Tap did
// already, with at most limit bytes of output.
func decodeBody(b *bodytap.Body, h http.Header, limit int64) decodedBody {
	ce := coding.Header(h)
	if b.Decoded != "" {
		ce = "" // the Tap did already
	}
	res, err := decode.Decode(ce, b.Bytes, limit, b.Truncated)
	if err != nil {
		d := decodedBody{bytes: b.Bytes, partial: b.Truncated, err: err}
		if int64(len(d.bytes)) > limit {
			d.bytes, d.cut = d.bytes[:limit], true
		}
		return d
	}
	return decodedBody{bytes: res.Bytes, codings: res.Encoding, cut: res.Cut, partial: res.Partial || b.Truncated}
}

// mark is a labelled flag shown next to a body or an exchange.
type mark struct {
	Class string // warn, info, bad
	Text  string
}

// bodyView is a body as the detail page shows it.
type bodyView struct {
	Part    string // "request" or "response"
	Absent  string // why there is nothing to show, if there is not
	Size    string // what passed on the wire
	Marks   []mark
	Kind    string // json, text, sse, image, hex, lazy
	JSON    *jnode
	Text    string     // text, or indented JSON too large for a tree
	Events  []sseEvent // an event stream's events, with when each went out
	Cut     string     // says where Text stops short: JSON cut by truncation
	Charset string     // of a text body: what it was converted from
	Hex     string
	HexMore string // address of the rest of the hex dump
	Image   string // address of the image
	Lazy    string // address of the body as text, for a large body
	Raw     string // download of the bytes as captured
	Decoded string // download of the decoded bytes, when they differ
}

// bodyURL returns the address of one view of a body.
func bodyURL(id bodytap.ID, part, view string) string {
	return exchangeHref(id) + "/body/" + part + "/" + view
}

// newBodyView prepares a body for the detail page.
func newBodyView(id bodytap.ID, part string, b *bodytap.Body, h http.Header) bodyView {
	v := bodyView{Part: part, Size: fmtSize(b.Size)}
	if b.Size == 1 {
		v.Size = "1 byte"
	} else if b.Size < 1024 {
		v.Size = strconv.FormatInt(b.Size, 10) + " bytes"
	}
	v.Marks = bodyMarks(b, part)
	if len(b.Bytes) == 0 {
		switch {
		case b.Withheld:
			v.Absent = "The copy was withheld: it could not be made safe to keep."
		case b.Size > 0:
			v.Absent = "Not captured."
		default:
			v.Absent = "No body."
		}
		return v
	}
	v.Raw = bodyURL(id, part, "raw")

	d := decodeBody(b, h, lazyLimit+1)
	if d.err != nil {
		v.Marks = append(v.Marks, mark{"bad", "could not decode: " + d.err.Error()})
	}
	if d.codings != "" {
		v.Marks = append(v.Marks, mark{"info", "decoded here (" + d.codings + ")"})
		v.Decoded = bodyURL(id, part, "decoded")
	}
	data, large := d.bytes, d.cut
	if large {
		data = data[:lazyLimit]
	}
	ct := h.Get("Content-Type")
	mt := media.Type(ct)
	switch {
	case d.err == nil && rasterTypes[http.DetectContentType(data)]:
		v.Kind, v.Image = "image", bodyURL(id, part, "image")
		return v
	case d.err != nil || !isText(ct, data):
		v.Kind = "hex"
		n := min(len(data), hexInline)
		v.Hex = hexDump(data[:n], 0)
		if n < len(data) || large {
			v.HexMore = bodyURL(id, part, "hex") + "?offset=" + strconv.Itoa(n)
		}
		return v
	case large:
		v.Kind, v.Lazy = "lazy", bodyURL(id, part, "text")
		if media.IsJSON(ct, data) {
			v.Lazy += "?pretty=1"
		}
		return v
	}
	if media.IsJSON(ct, data) {
		if t, err := parseJSONTree(data); err == nil {
			v.Kind, v.JSON = "json", t
			return v
		} else if errors.Is(err, errJSONTooBig) {
			var buf bytes.Buffer
			if json.Indent(&buf, data, "", "  ") == nil {
				v.Kind, v.Text = "text", buf.String()
				v.Marks = append(v.Marks, mark{"info", "JSON too large to fold: shown indented"})
				return v
			}
		} else if d.partial {
			// Cut by the capture: indented as far as it goes.
			if text, ok := indentPrefix(data); ok {
				v.Kind, v.Text = "text", strings.ToValidUTF8(text, "\uFFFD")
				v.Cut = "✂ The capture stops here: the body was truncated, so this JSON is not whole."
				v.Marks = append(v.Marks, mark{"info", "JSON cut short: indented up to the cut"})
				return v
			}
		} else if media.IsJSONType(mt) {
			v.Marks = append(v.Marks, mark{"warn", "not valid JSON: shown as text"})
		}
	}
	s, charset, ok := toText(ct, data, d.partial || d.cut)
	if !ok {
		v.Kind = "hex"
		v.Marks = append(v.Marks, mark{"warn", "not valid " + charset + " text: shown as hex"})
		n := min(len(data), hexInline)
		v.Hex = hexDump(data[:n], 0)
		if n < len(data) {
			v.HexMore = bodyURL(id, part, "hex") + "?offset=" + strconv.Itoa(n)
		}
		return v
	}
	v.Kind, v.Text, v.Charset = "text", s, charset
	if mt == "text/html" || mt == "application/xhtml+xml" || mt == "image/svg+xml" {
		v.Marks = append(v.Marks, mark{"info", "markup shown as source"})
	}
	return v
}

// bodyMarks returns the flags of a body as the Tap recorded them.
func bodyMarks(b *bodytap.Body, part string) []mark {
	var ms []mark
	if b.Truncated {
		ms = append(ms, mark{"warn", fmt.Sprintf("✂ truncated: %s of %s kept", fmtSize(int64(len(b.Bytes))), fmtSize(b.Size))})
	}
	if b.Redacted {
		ms = append(ms, mark{"warn", "■ redacted"})
	}
	if b.Withheld {
		ms = append(ms, mark{"bad", "withheld"})
	}
	if b.Decoded != "" {
		ms = append(ms, mark{"info", "decoded by the tap (" + b.Decoded + ")"})
	}
	if !b.EOF && (b.Size > 0 || part == "response") {
		if part == "request" {
			ms = append(ms, mark{"warn", "the handler did not read it all"})
		} else {
			ms = append(ms, mark{"warn", "incomplete: not sent whole"})
		}
	}
	if b.Err != nil {
		ms = append(ms, mark{"bad", "error: " + b.Err.Error()})
	}
	return ms
}

// isText reports whether a body reads as text: by its type or its bytes.
// Multipart bodies are text when their bytes are UTF-8.
func isText(ct string, b []byte) bool {
	if decode.IsText(ct, b) {
		return true
	}
	mt := media.Type(ct)
	return strings.HasPrefix(mt, "multipart/") && utf8.Valid(b) && !bytes.ContainsRune(b, 0)
}

// toText converts a text body to UTF-8 from the charset its Content-Type
// names, and returns the name of that charset for display.
func toText(ct string, b []byte, prefix bool) (s, charset string, ok bool) {
	charset = "utf-8"
	if _, params, err := mime.ParseMediaType(ct); err == nil && params["charset"] != "" {
		charset = strings.ToLower(params["charset"])
	}
	switch {
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		charset = "utf-8 (BOM)"
	case bytes.HasPrefix(b, []byte("\xFE\xFF")):
		charset = "utf-16be (BOM)"
	case bytes.HasPrefix(b, []byte("\xFF\xFE")):
		charset = "utf-16le (BOM)"
	}
	if prefix {
		s, ok = decode.ToUTF8Prefix(ct, b)
	} else {
		s, ok = decode.ToUTF8(ct, b)
	}
	return s, charset, ok
}

// hexDump formats b as lines of 16 bytes: offset, hex bytes and the
// printable ASCII ones, as hexdump -C does. offset is the position of
// b[0] in the body.
func hexDump(b []byte, offset int64) string {
	const hexdig = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow((len(b)/16 + 1) * 79)
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		fmt.Fprintf(&sb, "%08x  ", offset+int64(i))
		for j := range 16 {
			if j < len(line) {
				sb.WriteByte(hexdig[line[j]>>4])
				sb.WriteByte(hexdig[line[j]&15])
				sb.WriteByte(' ')
			} else {
				sb.WriteString("   ")
			}
			if j == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			sb.WriteByte(c)
		}
		sb.WriteString("|\n")
	}
	return sb.String()
}

// A jnode is one value of a JSON body, for the foldable tree.
type jnode struct {
	Key      string // the member name as JSON text; "" in an array
	Kind     string // o (object), a (array), s, n, b, z (null)
	Value    string // a scalar, or an empty object or array, as JSON text
	Children []*jnode
	Summary  string // "3 keys", "12 items"
	Open     bool   // starts unfolded
	Last     bool   // no comma after it
}

// errJSONTooBig says that a JSON body has too many values, or too deep,
// for the tree.
var errJSONTooBig = errors.New("JSON too large for a tree")

// parseJSONTree parses one JSON value, keeping the order of members and
// the text of numbers as they were.
func parseJSONTree(data []byte) (*jnode, error) {
	p := &jparser{dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	n.Last = true
	return n, nil
}

type jparser struct {
	dec   *json.Decoder
	nodes int
}

func (p *jparser) value(depth int) (*jnode, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	if p.nodes++; p.nodes > maxJSONNodes {
		return nil, errJSONTooBig
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, errJSONTooBig
		}
		n := &jnode{Kind: "a", Open: depth < openJSONDepth}
		if t == '{' {
			n.Kind = "o"
		}
		for p.dec.More() {
			var key string
			if n.Kind == "o" {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key = jsonString(kt.(string))
			}
			c, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			c.Key = key
			n.Children = append(n.Children, c)
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		k := len(n.Children)
		switch {
		case k == 0 && n.Kind == "o":
			n.Value = "{}"
		case k == 0:
			n.Value = "[]"
		default:
			n.Children[k-1].Last = true
			n.Summary = plural(k, "key", "keys")
			if n.Kind == "a" {
				n.Summary = plural(k, "item", "items")
			}
		}
		return n, nil
	case string:
		return &jnode{Kind: "s", Value: jsonString(t)}, nil
	case json.Number:
		return &jnode{Kind: "n", Value: t.String()}, nil
	case bool:
		return &jnode{Kind: "b", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &jnode{Kind: "z", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// jsonString returns s as a JSON string, without escaping HTML characters
// (the template escapes what it shows).
func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(int64(n)) + " " + many
}
