package redact

import (
	"encoding/binary"
	"math/bits"
	"testing"

	"github.com/bodytap/bodytap/internal/payload"
)

// BenchmarkIndexWalk bounds what a two-stage JSON scanner, in the manner
// of simdjson, could gain over scanPlain on the core benchmark's payload:
// its stage 1 (a bitmap of the structural bytes: quotes, brackets,
// colons, commas and the first byte of each scalar, which SIMD finds 32
// or 64 bytes at a time) is computed outside the timed loop, as if it
// were free, and the loop is a stage 2 doing less than scanPlain does
// (no validation, nothing hidden): it walks the indexes, keeps the
// containers, tells keys from values, looks each key up in a memo and
// measures each string. Compare its MB/s with BenchmarkRedactJSON's
// items rows: on this payload there is a structural byte every two or
// three bytes, and the walk costs as much per index as scanPlain costs
// per token.
func BenchmarkIndexWalk(b *testing.B) {
	for _, size := range redactBenchSizes {
		b.Run("items/"+size.name, func(b *testing.B) {
			p := payload.Items(size.n, 0)
			index := structuralIndex(p)
			n := 0
			for _, w := range index {
				n += bits.OnesCount64(w)
			}
			var memo [1 << 12]uint64
			b.SetBytes(int64(len(p)))
			b.ReportMetric(float64(len(p))/float64(n), "bytes/index")
			sum := 0
			for b.Loop() {
				sum += walkIndex(p, index, &memo)
			}
			if sum == 0 {
				b.Fatal("the walk found nothing")
			}
		})
	}
}

// structuralIndex returns the bitmap of b's structural bytes, bit i%64 of
// word i/64 for b[i]: what a SIMD stage 1 would produce.
func structuralIndex(b []byte) []uint64 {
	m := make([]uint64, (len(b)+63)/64)
	set := func(i int) { m[i/64] |= 1 << (i % 64) }
	inString, inScalar := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				set(i)
			}
			continue
		}
		switch c {
		case '"':
			inString, inScalar = true, false
			set(i)
		case '{', '}', '[', ']', ':', ',':
			inScalar = false
			set(i)
		case ' ', '\t', '\n', '\r':
			inScalar = false
		default:
			if !inScalar {
				set(i)
			}
			inScalar = true
		}
	}
	return m
}

// walkIndex is the stage 2 of BenchmarkIndexWalk. It returns a count of
// what it found, so that the work is not optimised away.
func walkIndex(b []byte, index []uint64, memo *[1 << 12]uint64) int {
	var objs uint64
	found := 0
	key := false
	open := -1
	for w, word := range index {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			switch c := b[i]; c {
			case '"':
				if open < 0 {
					open = i
					continue
				}
				n := i - open - 1
				if key {
					var x uint64
					if open+9 <= len(b) {
						x = binary.LittleEndian.Uint64(b[open+1:open+9]) & (1<<(8*min(n, 7)) - 1)
					}
					h := (x ^ uint64(n)) * 0x9E3779B97F4A7C15
					if memo[h>>52] == x {
						found++
					} else {
						memo[h>>52] = x
					}
				} else if n >= minSecret {
					found++
				}
				open = -1
			case '{':
				objs = objs<<1 | 1
				key = true
			case '[':
				objs <<= 1
				key = false
			case '}', ']':
				objs >>= 1
			case ':':
				key = false
			case ',':
				key = objs&1 != 0
			default:
				if c-'0' < 10 && i+minSecret <= len(b) && b[i+minSecret-1]-'0' < 10 {
					found++
				}
			}
		}
	}
	return found
}
