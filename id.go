package bodytap

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap/internal/ulid"
)

// An ID identifies an [Exchange]. It is a ULID: 48 bits of Unix time in
// milliseconds followed by 80 bits that are random per process and count
// up per exchange, so IDs sort by arrival time and are unique across
// processes. Its text form is the 26-character Crockford base32 ULID
// encoding; the zero ID is "00000000000000000000000000".
type ID [16]byte

// idState is the per-process part of every ID: 16 random bits and a
// counter that starts at a random value.
var idState struct {
	hi  uint16
	seq atomic.Uint64
}

func init() {
	var b [10]byte
	rand.Read(b[:])
	idState.hi = binary.BigEndian.Uint16(b[:2])
	idState.seq.Store(binary.BigEndian.Uint64(b[2:]))
}

// NewID returns a new ID for an exchange that started at t, as the Tap
// makes them: IDs of one process sort by t (to the millisecond), then by
// the order they were made. Importers use it for exchanges that come
// without one.
func NewID(t time.Time) ID { return newID(t) }

// newID returns a new ID for an exchange that started at t.
func newID(t time.Time) ID {
	var id ID
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(id[0:8], ms<<16|uint64(idState.hi))
	binary.BigEndian.PutUint64(id[8:16], idState.seq.Add(1))
	return id
}

// Time returns the millisecond timestamp held in the ID.
func (id ID) Time() time.Time {
	ms := binary.BigEndian.Uint64(id[0:8]) >> 16
	return time.UnixMilli(int64(ms))
}

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// String returns the 26-character ULID form of id.
func (id ID) String() string {
	b, _ := id.MarshalText()
	return string(b)
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) {
	return id.AppendText(make([]byte, 0, 26))
}

// AppendText implements encoding.TextAppender: it appends the
// 26-character ULID form of id to b. It never fails.
func (id ID) AppendText(b []byte) ([]byte, error) {
	return ulid.Append(b, id), nil
}

// ErrBadID is returned when parsing text that is not a ULID.
var ErrBadID = errors.New("bodytap: malformed ID")

// ParseID parses the 26-character ULID form of an ID, in either case.
func ParseID(s string) (ID, error) {
	var id ID
	err := id.UnmarshalText([]byte(s))
	return id, err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, ok := ulid.Parse(b)
	if !ok {
		return ErrBadID
	}
	*id = v
	return nil
}
