package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Body search goes through a skip index: for each chunk of chunkRows
// exchanges (by rid), a Bloom filter of the trigrams of their body
// copies, ASCII letters folded to lower case. A search for a regular
// expression takes the trigrams of the literal strings every match
// contains, and reads the bodies of the chunks whose filter may hold
// them all; the others are skipped. A filter costs the writer about
// 2 µs per KiB of body (BenchmarkBloomAdd), where a full-text index cost it
// more than storing the exchange, and the query one read of every
// chunk's filter (bloomBytes per chunkRows exchanges: 16 MiB for a
// million) before it reads any body.
//
// The writer builds the filter of the newest chunk in memory as it
// inserts, and stores it in the transaction that inserts the first
// exchange of the next chunk, so that a chunk is searched by reading
// its bodies until it is whole. A chunk whose filter is missing (the
// files of an older version, a writer that stopped between the two) is
// read too, until the writer, when idle, has built the filter from the
// bodies stored.
//
// The chunk size is the file's (state 'chunk_shift': chunks of
// 1<<chunk_shift exchanges), set when the file is made.
//
// Filters of hashWord are of bloomBytesPer bytes per exchange of the
// chunk (between minBloomBytes and bloomBytes), and a reader learns their
// size from their length; those of hashThree are all of bloomBytes.
const (
	bloomBytes    = 64 << 10
	bloomMask     = bloomBytes*8 - 1
	minBloomBytes = 4 << 10
	bloomBytesPer = 16
)

// newChunkShift is the chunk_shift of new files: chunks of 1024
// exchanges, with 16 KiB filters. Smaller chunks than the 4096 of files
// before version 5 cost searches nothing more in filters to read (the
// same 16 bytes per exchange) and read a quarter as many bodies for a
// word that few exchanges have: a word in one exchange in 10,000 is in
// nearly every other chunk of 4096, in one of ten of 1024. Tests make
// it smaller.
var newChunkShift int64 = 10

// filterBytes returns the size of the hashWord filters of chunks of
// 1<<shift exchanges.
func filterBytes(shift int64) int {
	return min(max(bloomBytesPer<<max(shift, 0), minBloomBytes), bloomBytes)
}

// Bits of blooms.unindexed: some exchange of the chunk has a body copy
// that the filter does not hold (binary, still compressed, or longer
// than maxIndexBytes), so that searches of that body read the chunk.
const (
	bloomReqUnindexed  = 1 << 0
	bloomRespUnindexed = 1 << 1
)

// lower folds ASCII letters; other bytes are themselves.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// How a filter sets the bits of a trigram (blooms.hash). Filters of
// files before version 4 are all hashThree; the writer builds hashWord
// ones, which cost it a third as much: one word to read and write per
// byte of body instead of three bytes in three places.
const (
	hashThree = 0 // three bits anywhere in the filter (bloomPositions)
	hashWord  = 1 // two bits of one 64-bit word (bloomWord)
)

// hashVersion is the schema version that gave blooms its hash column.
const hashVersion = 4

// bloomPositions returns the three bits of the trigram g (its three
// bytes, folded, in the low 24 bits) in a hashThree filter.
func bloomPositions(g uint32) (uint32, uint32, uint32) {
	h := uint64(g) * 0x9E3779B97F4A7C15
	return uint32(h>>40) & bloomMask, uint32(h>>20) & bloomMask, uint32(h) & bloomMask
}

// bloomWord returns the word of the trigram g in a hashWord filter of
// mask+1 64-bit words (a power of two), and its two bits there: from the
// high bits of one product, which depend on all of g's. The word is the
// product's top bits, so that a filter of half the size holds a trigram
// in the word of half the index.
func bloomWord(g uint32, mask uint64) (int, uint64) {
	h := uint64(g) * 0x9E3779B97F4A7C15
	return int(h >> 51 & mask), 1<<(h>>45&63) | 1<<(h>>39&63)
}

// wordMask returns the mask of bloomWord for the filter f, and whether f
// has a size a hashWord filter can have.
func wordMask(f []byte) (uint64, bool) {
	n := len(f) / 8
	return uint64(n - 1), n > 0 && n*8 == len(f) && n&(n-1) == 0 && len(f) <= bloomBytes
}

// bloomAdd adds the trigrams of p to the hashWord filter f.
func bloomAdd(f []byte, p []byte) {
	if len(p) < 3 {
		return
	}
	mask, ok := wordMask(f)
	if !ok {
		panic("bloomAdd: bad filter size")
	}
	_ = f[mask*8+7]
	g := uint32(lower[p[0]])<<8 | uint32(lower[p[1]])
	for _, c := range p[2:] {
		g = (g<<8 | uint32(lower[c])) & 0xFFFFFF
		i, bits := bloomWord(g, mask)
		w := f[i*8 : i*8+8 : i*8+8]
		binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)|bits)
	}
}

// bloomHas reports whether f, a filter of the given hash, may hold every
// trigram of grams.
func bloomHas(f []byte, hash int64, grams []uint32) bool {
	mask, ok := wordMask(f)
	if !ok || hash == hashThree && len(f) != bloomBytes {
		return true
	}
	for _, g := range grams {
		switch hash {
		case hashThree:
			a, b, d := bloomPositions(g)
			if f[a>>3]&(1<<(a&7)) == 0 || f[b>>3]&(1<<(b&7)) == 0 || f[d>>3]&(1<<(d&7)) == 0 {
				return false
			}
		case hashWord:
			i, bits := bloomWord(g, mask)
			if binary.LittleEndian.Uint64(f[i*8:])&bits != bits {
				return false
			}
		default:
			// A filter of a later version: it cannot rule anything out.
			return true
		}
	}
	return true
}

// bloomGrams returns the trigrams that every text a match of re is found
// in holds, folded: those of the literal strings every match contains;
// none if there are none.
func bloomGrams(re *regexp.Regexp) []uint32 {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	seen := make(map[uint32]bool)
	var grams []uint32
	for _, p := range bloomLiterals(t) {
		for i := 0; i+3 <= len(p); i++ {
			g := uint32(lower[p[i]])<<16 | uint32(lower[p[i+1]])<<8 | uint32(lower[p[i+2]])
			if !seen[g] {
				seen[g] = true
				grams = append(grams, g)
			}
		}
	}
	return grams
}

// skippedChunks returns the chunks that a body match needing grams can
// skip: those whose filter lacks one of them, and whose exchanges have
// every copy that the match reads (unindexed: blooms.unindexed bits) in
// the filter.
func skippedChunks(ctx context.Context, tx queryer, grams []uint32, unindexed int64) ([]int64, error) {
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return nil, err
	}
	q := "SELECT chunk, unindexed, hash, bits FROM blooms ORDER BY chunk"
	if version < hashVersion {
		// A file opened read-only as it is: its filters are all of
		// the one hash its version knew.
		q = "SELECT chunk, unindexed, 0, bits FROM blooms ORDER BY chunk"
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var skip []int64
	for rows.Next() {
		var chunk, un, hash int64
		var bits []byte
		if err := rows.Scan(&chunk, &un, &hash, &bits); err != nil {
			return nil, err
		}
		if un&unindexed == 0 && !bloomHas(bits, hash, grams) {
			skip = append(skip, chunk)
		}
	}
	return skip, rows.Err()
}

// chunkList returns the SQL list of chunks.
func chunkList(chunks []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range chunks {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, c)
	}
	b.WriteByte(')')
	return b.String()
}

// chunkFilter is the filter of one chunk as the writer builds it, and
// its keys filter (see keys.go).
type chunkFilter struct {
	chunk     int64
	bodies    bool   // the filter of the bodies is built (not NoFullText)
	bits      []byte // of the bodies; nil unless bodies
	keys      []byte
	pairs     []byte
	unindexed int64
	// whole says that bits and keys hold every exchange of the chunk
	// stored so far; after a restart they do not, and the filters are
	// built from what is stored when the chunk is sealed.
	whole bool
}

// addRow adds an exchange's bodies and keys.
func (f *chunkFilter) addRow(r *row) {
	if f.bodies {
		f.add(r.flags, r.req, r.resp)
	}
	addRowKeys(f.keys, f.pairs, r.method, r.domain, r.route, r.ctype, r.reqCtype, r.status, r.errText != "")
}

// add adds an exchange's bodies.
func (f *chunkFilter) add(flags int64, req, resp []byte) {
	if flags&flagReqUnindexed != 0 {
		f.unindexed |= bloomReqUnindexed
	} else {
		bloomAdd(f.bits, req)
	}
	if flags&flagRespUnindexed != 0 {
		f.unindexed |= bloomRespUnindexed
	} else {
		bloomAdd(f.bits, resp)
	}
}

// reset makes f the empty filter of chunk, of chunks of 1<<shift
// exchanges.
func (f *chunkFilter) reset(chunk, shift int64, whole bool) {
	switch n := filterBytes(shift); {
	case !f.bodies:
		f.bits = nil
	case len(f.bits) != n:
		f.bits = make([]byte, n)
	default:
		clear(f.bits)
	}
	if f.keys == nil {
		f.keys, f.pairs = make([]byte, keysBytes), make([]byte, pairsBytes)
	} else {
		clear(f.keys)
		clear(f.pairs)
	}
	f.chunk, f.unindexed, f.whole = chunk, 0, whole
}

// buildChunk fills f with the bodies (if f.bodies) and keys stored of
// chunk, of 1<<shift exchanges, the bodies read from the log with lr or
// from bodies.
func buildChunk(ctx context.Context, tx queryer, lr *logReader, f *chunkFilter, chunk, shift int64) (rows int, err error) {
	f.reset(chunk, shift, true)
	if !f.bodies {
		return 0, buildKeys(ctx, tx, f.keys, f.pairs, chunk, shift)
	}
	rs, err := tx.QueryContext(ctx, `SELECT e.flags, e.loc, b.req, b.resp,
		e.method, e.domain, e.route, e.ctype, e.req_ctype, e.status, e.error != ''
		FROM exchanges e LEFT JOIN bodies b ON b.rid = e.rid
		WHERE e.rid >= ? AND e.rid < ?`, chunk<<shift, (chunk+1)<<shift)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	for rs.Next() {
		var flags, status int64
		var loc sql.NullInt64
		var req, resp []byte
		var method, domain, route, ctype, reqCtype string
		var failed bool
		if err := rs.Scan(&flags, &loc, &req, &resp, &method, &domain, &route, &ctype, &reqCtype, &status, &failed); err != nil {
			return 0, err
		}
		addRowKeys(f.keys, f.pairs, method, domain, route, ctype, reqCtype, status, failed)
		if loc.Valid {
			rec, err := lr.record(loc.Int64)
			if err != nil {
				return 0, err
			}
			req, resp = rec.req, rec.resp
		}
		f.add(flags, req, resp)
		rows++
	}
	return rows, rs.Err()
}

// bloomLiterals returns byte strings that every match of re contains,
// as the filter folds them: where re ignores case, the runs of ASCII
// letters and other ASCII bytes between the runes that fold to bytes of
// another length or case that the filter does not fold (k and s, which
// also match K and ſ; non-ASCII letters).
func bloomLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		var out []string
		var run []byte
		for _, r := range re.Rune {
			ok := r != 0 && r != utf8.RuneError
			if re.Flags&syntax.FoldCase != 0 && (r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S') {
				ok = false
			}
			if !ok {
				if len(run) > 0 {
					out = append(out, string(run))
				}
				run = run[:0]
				continue
			}
			run = utf8.AppendRune(run, r)
		}
		if len(run) > 0 {
			out = append(out, string(run))
		}
		return out
	case syntax.OpCapture, syntax.OpPlus:
		return bloomLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return bloomLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Adjacent literals are one string: the trigrams across them
		// count too. The first and last piece of each literal join its
		// neighbours' only when the whole literal is usable; to keep it
		// simple, pieces join when a literal yields exactly one piece
		// equal to its whole text.
		var out []string
		run := ""
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				pieces := bloomLiterals(sub)
				if len(pieces) == 1 && pieces[0] == string(sub.Rune) {
					run += pieces[0]
					continue
				}
				if run != "" {
					out = append(out, run)
				}
				run = ""
				out = append(out, pieces...)
				continue
			}
			if run != "" {
				out = append(out, run)
			}
			run = ""
			out = append(out, bloomLiterals(sub)...)
		}
		if run != "" {
			out = append(out, run)
		}
		return out
	}
	return nil
}
