package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A place is where a file Writer goes on in a HAR file: pos is the offset
// just past the last complete entry (or past the "[" of the entries array
// when there is none), n the number of entries before it, and tail what
// must follow them. pos 0 means the file holds no usable document head
// and is to be written anew.
type place struct {
	pos  int64
	n    int
	tail []byte
}

// errNotHAR says a file is something other than a HAR document, perhaps
// damaged: OpenFile must not touch it.
var errNotHAR = errors.New("not a HAR file")

// ourHead is how every document a Writer writes starts. A file cut short
// before its entries array began is taken for one of ours that died while
// being created, and written anew, only if it is a prefix of this.
const ourHead = `{"log":{"version":`

// scan finds where to go on in the HAR document in r (size bytes long),
// reading it as a stream. A document that is whole keeps whatever follows
// its entries array. One that is damaged from inside its entries array on
// is cut back to the last complete entry, and closed with "]}}". One that
// is damaged before that is an error, unless it is the start of a document
// we were creating.
func scan(r io.ReaderAt, size int64) (place, error) {
	dec := json.NewDecoder(io.NewSectionReader(r, 0, size))
	p, err := findEntries(dec)
	if err != nil {
		if !isTruncation(err) {
			return place{}, fmt.Errorf("%w: %v", errNotHAR, err)
		}
		head := make([]byte, min(size, int64(len(ourHead))))
		r.ReadAt(head, 0)
		if !bytes.HasPrefix([]byte(ourHead), head) {
			return place{}, fmt.Errorf("%w: it ends before its entries", errNotHAR)
		}
		return place{}, nil
	}

	// In the entries array. If the document turns out damaged, it is cut
	// back to good, after the last whole entry; if it is whole, every
	// element stays, entry-like or not.
	good, all := p, p
	for dec.More() {
		var e probe
		err := dec.Decode(&e)
		var te *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &te) {
			return good, nil
		}
		all.pos = dec.InputOffset()
		all.n++
		if err == nil && e.ok() {
			good = all
		}
	}
	t, err := dec.Token()
	if err != nil || t != json.Delim(']') {
		return good, nil
	}
	end := dec.InputOffset() - 1 // the "]"
	// The rest of the log object, the root's, and nothing after.
	for depth := 2; depth > 0; {
		t, err := dec.Token()
		switch {
		case err != nil:
			return good, nil
		case t == json.Delim('}'):
			depth--
		case isKey(t):
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return good, nil
			}
		default:
			return good, nil
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return good, nil
	}
	p = all
	rest := make([]byte, size-end)
	if _, err := r.ReadAt(rest, end); err != nil && err != io.EOF {
		return place{}, err
	}
	p.tail = append([]byte("\n"), bytes.TrimRight(rest, " \t\r\n")...)
	p.tail = append(p.tail, '\n')
	return p, nil
}

// findEntries reads up to the "[" of log.entries and returns the place
// just after it, with the tail to use if the file is damaged after it.
func findEntries(dec *json.Decoder) (place, error) {
	if err := expect(dec, '{'); err != nil {
		return place{}, err
	}
	if err := findKey(dec, "log"); err != nil {
		return place{}, err
	}
	if err := expect(dec, '{'); err != nil {
		return place{}, err
	}
	if err := findKey(dec, "entries"); err != nil {
		return place{}, err
	}
	if err := expect(dec, '['); err != nil {
		return place{}, err
	}
	return place{pos: dec.InputOffset(), tail: []byte(tail)}, nil
}

// findKey reads the keys of an object and skips their values up to key.
func findKey(dec *json.Decoder, key string) error {
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if t == key {
			return nil
		}
		if !isKey(t) {
			return fmt.Errorf("no %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
	}
}

func expect(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %q, found %v", d, t)
	}
	return nil
}

func isKey(t json.Token) bool {
	_, ok := t.(string)
	return ok
}

// isTruncation reports whether err says the input ended too soon.
func isTruncation(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// probe is just enough of an entry to tell a whole one from the debris
// of a write cut short, such as "{}".
type probe struct {
	StartedDateTime *json.RawMessage `json:"startedDateTime"`
	Request         *json.RawMessage `json:"request"`
	Response        *json.RawMessage `json:"response"`
}

func (e *probe) ok() bool {
	return e.StartedDateTime != nil && e.Request != nil && e.Response != nil
}
