// Package ulid writes and reads the text form of a ULID: 128 bits as 26
// digits of Crockford's base32, the first of which carries the top 3 bits.
package ulid

import "encoding/binary"

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Append appends the 26-character form of id to b.
func Append(b []byte, id [16]byte) []byte {
	var out [26]byte
	hi := binary.BigEndian.Uint64(id[0:8])
	lo := binary.BigEndian.Uint64(id[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(b, out[:]...)
}

// Parse reads the 26-character form, in either case, with Crockford's
// aliases (I and L for 1, O for 0). ok is false for any other text.
func Parse(b []byte) (id [16]byte, ok bool) {
	if len(b) != 26 || b[0] > '7' {
		return id, false
	}
	var hi, lo uint64
	for _, c := range b {
		v := digit(c)
		if v < 0 {
			return id, false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(id[0:8], hi)
	binary.BigEndian.PutUint64(id[8:16], lo)
	return id, true
}

func digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		c -= 'a' - 'A'
	}
	switch c {
	case 'I', 'L':
		return 1
	case 'O':
		return 0
	}
	for i := 10; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return -1
}
