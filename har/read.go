package har

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Read reads a whole HAR document from r. It holds every entry in memory;
// to import a large file in bounded memory, use a [Decoder].
//
// The error, if any, is one line that says what is wrong and where.
func Read(r io.Reader) (*Log, error) {
	d := NewDecoder(r)
	var entries []Entry
	for {
		var e Entry
		err := d.Decode(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	l := d.Log()
	if entries == nil {
		entries = []Entry{}
	}
	l.Entries = entries
	return &l, nil
}

// A Decoder reads the entries of a HAR document one at a time, so that a
// file of any size imports in memory bounded by its largest entry.
type Decoder struct {
	dec   *json.Decoder
	log   Log
	state int
	n     int // entries decoded
	err   error
}

// Decoder states: where in the document the next token is.
const (
	atStart   = iota // before the root object
	inRoot           // in the root object, before or after "log"
	inLog            // in the log object, outside its entries
	inEntries        // in the entries array
	atEnd            // the document has been read to its end
)

// NewDecoder returns a Decoder that reads a HAR document from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{dec: json.NewDecoder(r)}
}

// Log returns the fields of the log object read so far, without the
// entries: before the first entry, those that came before the entries
// array (in files bodytap writes, all of them); after Decode has returned
// io.EOF, all of them.
func (d *Decoder) Log() Log {
	l := d.log
	l.Entries = nil
	return l
}

// Decode reads the next entry into e. It returns io.EOF when there are no
// more entries and the document ended well. Any other error is one line
// that says what is wrong and where; after it, Decode returns the same
// error again.
func (d *Decoder) Decode(e *Entry) error {
	if d.err != nil {
		return d.err
	}
	if err := d.next(e); err != nil {
		d.err = err
		return err
	}
	return nil
}

func (d *Decoder) next(e *Entry) error {
	dec := d.dec
	for {
		switch d.state {
		case atStart:
			if err := d.delim('{', "the document"); err != nil {
				return err
			}
			d.state = inRoot
		case inRoot:
			key, end, err := d.key("the document")
			if err != nil {
				return err
			}
			if end {
				if d.log.Entries == nil {
					return errors.New(`har: no "log" object with "entries"`)
				}
				if _, err := dec.Token(); err != io.EOF {
					return d.syntax(fmt.Errorf("data after the end of the document"))
				}
				d.state = atEnd
				continue
			}
			if key != "log" || d.log.Entries != nil {
				if err := d.skip(strconv.Quote(key)); err != nil {
					return err
				}
				continue
			}
			if err := d.delim('{', `"log"`); err != nil {
				return err
			}
			d.state = inLog
		case inLog:
			key, end, err := d.key(`"log"`)
			if err != nil {
				return err
			}
			if end {
				if d.log.Entries == nil {
					return errors.New(`har: "log" has no "entries"`)
				}
				d.state = inRoot
				continue
			}
			var v any
			switch key {
			case "entries":
				if d.log.Entries != nil {
					return errors.New(`har: "log" has "entries" twice`)
				}
				if err := d.delim('[', "log.entries"); err != nil {
					return err
				}
				d.log.Entries = []Entry{}
				d.state = inEntries
				continue
			case "version":
				v = &d.log.Version
			case "creator":
				v = &d.log.Creator
			case "browser":
				v = &d.log.Browser
			case "pages":
				v = &d.log.Pages
			case "comment":
				v = &d.log.Comment
			default:
				if err := d.skip("log." + strconv.Quote(key)); err != nil {
					return err
				}
				continue
			}
			if err := dec.Decode(v); err != nil {
				return d.wrap("log."+key, err)
			}
		case inEntries:
			if dec.More() {
				*e = Entry{}
				if err := dec.Decode(e); err != nil {
					return d.wrap(fmt.Sprintf("log.entries[%d]", d.n), err)
				}
				d.n++
				return nil
			}
			if err := d.delim(']', "log.entries"); err != nil {
				return err
			}
			d.state = inLog
		case atEnd:
			return io.EOF
		}
	}
}

// delim reads the token want, which opens or closes what.
func (d *Decoder) delim(want json.Delim, what string) error {
	t, err := d.dec.Token()
	if err != nil {
		return d.wrap(what, err)
	}
	if t != want {
		return d.syntax(fmt.Errorf("%s: want %q, found %s", what, want, describe(t)))
	}
	return nil
}

// key reads the next key of an object, or its end.
func (d *Decoder) key(what string) (key string, end bool, err error) {
	t, err := d.dec.Token()
	if err != nil {
		return "", false, d.wrap(what, err)
	}
	if t == json.Delim('}') {
		return "", true, nil
	}
	s, ok := t.(string)
	if !ok {
		return "", false, d.syntax(fmt.Errorf("%s: want a key, found %s", what, describe(t)))
	}
	return s, false, nil
}

// skip reads past a value the Decoder does not keep.
func (d *Decoder) skip(what string) error {
	var v json.RawMessage
	if err := d.dec.Decode(&v); err != nil {
		return d.wrap(what, err)
	}
	return nil
}

// wrap turns an error of encoding/json into one line naming where.
func (d *Decoder) wrap(where string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("har: %s: input ends too soon, at byte %d", where, d.dec.InputOffset())
	case errors.As(err, &se):
		return fmt.Errorf("har: %s: invalid JSON at byte %d: %s", where, se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field != "" {
			where += ": " + te.Field
		}
		return fmt.Errorf("har: %s: a JSON %s cannot be a %s (near byte %d)", where, te.Value, te.Type, d.dec.InputOffset())
	default:
		return fmt.Errorf("har: %s: %v (near byte %d)", where, err, d.dec.InputOffset())
	}
}

func (d *Decoder) syntax(err error) error {
	return fmt.Errorf("har: %v (at byte %d)", err, d.dec.InputOffset())
}

func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", v)
	}
}
