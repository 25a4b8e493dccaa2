package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/bodytap/bodytap/filter"
	"github.com/jackc/pgx/v5"
)

// Body search goes through a skip index, as the local store's does
// (store/bloom.go): for each chunk of exchanges, a Bloom filter of the
// trigrams of their body copies, ASCII letters folded to lower case. A
// search for a regular expression takes the trigrams of the literal
// strings every match contains (neededLiterals), reads the filters, and reads
// candidates only in the ID ranges of the chunks whose filter may hold
// them all, newest first; the others are skipped.
//
// Chunks are the writers': each Store fills a chunk of up to chunkRows
// exchanges, in any number of whole batches, and stores its filter, with the
// smallest and largest ID it holds, in the transaction of each batch
// (an upsert of the chunk's row of blooms). So every stored exchange is
// in the ID range of a chunk whose filter holds it, whatever order the
// writers of a fleet commit in, and a row outside every candidate
// chunk's range is one that cannot match. The ranges of concurrent
// writers' chunks overlap: a candidate range is read whole, other
// writers' exchanges in it included.
//
// A chunk's filter is built in memory at bloomBytes and stored folded
// (the halves of the words OR-ed together, which the word index allows)
// down to the smallest size that stays at most a quarter full, so that a
// writer of small batches does not store 64 KiB a transaction, and a
// search reads little: at most bloomBytes per chunkRows exchanges.
//
// Exchanges stored before the schema had blooms (version 2) are in the
// range of one chunk that the migration to version 3 made, which every
// search reads (unindexed).
const (
	bloomBytes   = 64 << 10
	bloomWords   = bloomBytes / 8
	minBloomWord = 64 // the smallest stored filter: 512 bytes
	// Body copies longer than this are not added to the filter: their
	// chunk is read by every search of that body (unindexed bits).
	maxIndexBytes = 256 << 10
)

// chunkRows is the most exchanges of a chunk. A search reads the whole
// ID range of a chunk that may match, other writers' exchanges in it
// included: at 1,000,000 exchanges from 4 writers in batches of 1,000,
// chunks of 4,096 made a search for one old body read 16,000 rows (845
// ms whole); chunks of 1,024, one batch each, 1,000. Tests make it
// smaller.
var chunkRows = 1024

// bloomVersion is the schema version that made blooms and counts, and
// keysVersion the one that added the chunks' keys. (Tests make a store
// of an earlier version by setting schemaVersion.)
const (
	bloomVersion = 3
	keysVersion  = 4
)

// Bits of blooms.unindexed: some exchange of the chunk has a body copy
// that the filter does not hold.
const (
	bloomReqUnindexed  = 1 << 0
	bloomRespUnindexed = 1 << 1
)

// fold folds an ASCII letter to lower case; other bytes are themselves.
func fold(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// bloomHash returns the word of the trigram g (its three folded bytes in
// the low 24 bits) in a filter of bloomWords words, and its two bits
// there. A filter folded to n words holds it in word w % n: the word
// index is the low bits of a field of the product, and the bits come
// from other bits of it.
func bloomHash(g uint32) (w int, bits uint64) {
	h := uint64(g) * 0x9E3779B97F4A7C15
	return int(h>>32) & (bloomWords - 1), 1<<(h>>58) | 1<<(h>>52&63)
}

// A chunkFilter is the filter of the chunk a writer is filling.
type chunkFilter struct {
	key       int64 // blooms.key; 0 before the first exchange
	lo, hi    []byte
	rows      int
	unindexed int16
	words     []uint64 // bloomWords
	keys      chunkKeys
}

// Filters on the method, the domain and the status go through the
// chunks too (schema version 4): each chunk lists the distinct values of
// its exchanges (blooms.methods, domains, statuses), and a filter that
// needs one of some values reads only the ID ranges of the chunks that
// list one. A value that most chunks hold costs a read of a window of
// the chunks' rows (see chunkWalk; no Bloom filter: a few hundred bytes
// each) and a walk back along the primary key, as the unfiltered list
// does; one that few or none hold, the ranges of those few. B-trees on
// the three columns did the same at the price of three more index
// entries to write per exchange: loading 1,000,000 exchanges, 18.5 µs of
// the server's CPU each against 11.7.
//
// maxChunkKeys bounds the values of a kind that a chunk lists: past it,
// the chunk lists none (NULL), and is a candidate for every value, as
// the chunks of a writer of version 3 are. Tests make it smaller.
var maxChunkKeys = 64

// The keys of a chunk: a list longer than maxChunkKeys is unknown.
type chunkKeys struct {
	methods, domains []string
	statuses         []int32
	lossy            bool // a row's strings are not its exchange's: no string keys
}

func (k *chunkKeys) add(r *row) {
	if r.flags >= flagLossy {
		k.lossy = true
	}
	k.methods = addKey(k.methods, r.method)
	k.domains = addKey(k.domains, r.domain)
	k.statuses = addKey(k.statuses, r.status)
}

func addKey[T comparable](vs []T, v T) []T {
	if len(vs) > maxChunkKeys || slices.Contains(vs, v) {
		return vs
	}
	return append(vs, v)
}

// listed returns the keys vs as blooms stores them: nil (NULL) when
// unknown.
func listed[T any](vs []T, known bool) []T {
	if !known || len(vs) > maxChunkKeys {
		return nil
	}
	return vs
}

func (k *chunkKeys) reset() {
	*k = chunkKeys{methods: k.methods[:0], domains: k.domains[:0], statuses: k.statuses[:0]}
}

// add adds an exchange's row and body copies.
func (f *chunkFilter) add(r *row, req, resp []byte) {
	id := r.id
	if f.key == 0 {
		f.key = rand.Int64() | 1
		f.lo, f.hi = id, id
		if f.words == nil {
			f.words = make([]uint64, bloomWords)
		}
	}
	if bytes.Compare(id, f.lo) < 0 {
		f.lo = id
	}
	if bytes.Compare(id, f.hi) > 0 {
		f.hi = id
	}
	f.rows++
	f.keys.add(r)
	if !f.addBody(req) {
		f.unindexed |= bloomReqUnindexed
	}
	if !f.addBody(resp) {
		f.unindexed |= bloomRespUnindexed
	}
}

// addBody adds the trigrams of a body copy, or reports false when it is
// too long to.
func (f *chunkFilter) addBody(p []byte) bool {
	if len(p) > maxIndexBytes {
		return false
	}
	if len(p) < 3 {
		return true
	}
	g := uint32(fold(p[0]))<<8 | uint32(fold(p[1]))
	for _, c := range p[2:] {
		g = (g<<8 | uint32(fold(c))) & 0xFFFFFF
		w, b := bloomHash(g)
		f.words[w] |= b
	}
	return true
}

// full reports whether the chunk is to be sealed: the next exchange
// starts a new one.
func (f *chunkFilter) full() bool { return f.rows >= chunkRows }

// reset starts a new chunk.
func (f *chunkFilter) reset() {
	f.key, f.lo, f.hi, f.rows, f.unindexed = 0, nil, nil, 0, 0
	clear(f.words)
	f.keys.reset()
}

// stored returns the filter as blooms.bits holds it: folded while it
// stays at most a quarter full, little-endian words.
func (f *chunkFilter) stored() []byte {
	ws := slices.Clone(f.words)
	for len(ws) > minBloomWord {
		half := len(ws) / 2
		ones := 0
		for i := range half {
			ones += bits.OnesCount64(ws[i] | ws[i+half])
		}
		if ones > half*64/4 {
			break
		}
		for i := range half {
			ws[i] |= ws[i+half]
		}
		ws = ws[:half]
	}
	out := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint64(out[8*i:], w)
	}
	return out
}

// upsert stores the filter in the transaction that stores its newest
// exchanges.
func (f *chunkFilter) upsert(ctx context.Context, tx pgx.Tx) error {
	if schemaVersion >= keysVersion {
		k := &f.keys
		_, err := tx.Exec(ctx, `INSERT INTO blooms (key, lo, hi, rows, unindexed, bits, methods, domains, statuses)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (key) DO UPDATE SET lo = excluded.lo, hi = excluded.hi, rows = excluded.rows,
				unindexed = excluded.unindexed, bits = excluded.bits,
				methods = excluded.methods, domains = excluded.domains, statuses = excluded.statuses`,
			f.key, f.lo, f.hi, f.rows, f.unindexed, f.stored(),
			listed(k.methods, !k.lossy), listed(k.domains, !k.lossy), listed(k.statuses, true))
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO blooms (key, lo, hi, rows, unindexed, bits) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET lo = excluded.lo, hi = excluded.hi, rows = excluded.rows,
			unindexed = excluded.unindexed, bits = excluded.bits`,
		f.key, f.lo, f.hi, f.rows, f.unindexed, f.stored())
	return err
}

// addRows adds rows to the chunk filter f, upserting the rows of the
// chunks they fill in tx; f is left holding the last, unsealed chunk,
// upserted too.
func addRows(ctx context.Context, tx pgx.Tx, f *chunkFilter, rows []*row) error {
	if f.rows > 0 && f.rows+len(rows) > chunkRows {
		// A batch that would overflow the chunk starts a new one, so
		// that a writer of big batches makes chunks of whole batches,
		// whose ID ranges hold no more than they must. The chunk's row
		// is whole: the transaction of its last batch stored it.
		f.reset()
	}
	for _, r := range rows {
		if f.full() {
			if err := f.upsert(ctx, tx); err != nil {
				return err
			}
			f.reset()
		}
		if err := f.addRow(r); err != nil {
			return err
		}
	}
	return f.upsert(ctx, tx)
}

// addRow adds a row. Its bodies are decompressed again (S2: well under a
// microsecond a KiB), so that rows read back from the spool need nothing
// more than what it keeps.
func (f *chunkFilter) addRow(r *row) error {
	req, err := decompress(r.req)
	if err != nil {
		return err
	}
	resp, err := decompress(r.resp)
	if err != nil {
		return err
	}
	f.add(r, req, resp)
	return nil
}

// A gramSet is what a body match needs of a chunk: every trigram, in
// one of the copies it reads.
type gramSet struct {
	hashes    []bloomBit
	unindexed int16 // the blooms.unindexed bits that make a chunk a candidate
}

type bloomBit struct {
	word int
	bits uint64
}

// bodyGrams returns the gram sets of the body matches and-ed at the top
// of n (those every match of the filter meets), leaving out matches with
// no trigram to look for.
func bodyGrams(n filter.Node) []gramSet {
	switch n := n.(type) {
	case filter.And:
		return append(bodyGrams(n.X), bodyGrams(n.Y)...)
	case filter.Match:
		var un int16
		switch n.Op {
		case filter.OpBody:
			un = bloomReqUnindexed | bloomRespUnindexed
		case filter.OpReqBody:
			un = bloomReqUnindexed
		case filter.OpRespBody:
			un = bloomRespUnindexed
		default:
			return nil
		}
		if n.Re == nil {
			return nil
		}
		gs := gramSet{unindexed: un}
		seen := map[uint32]bool{}
		for _, l := range neededLiterals(n.Re) {
			p := l.S
			for i := 0; i+3 <= len(p); i++ {
				g := uint32(fold(p[i]))<<16 | uint32(fold(p[i+1]))<<8 | uint32(fold(p[i+2]))
				if !seen[g] {
					seen[g] = true
					w, b := bloomHash(g)
					gs.hashes = append(gs.hashes, bloomBit{w, b})
				}
			}
		}
		if len(gs.hashes) > 0 {
			return []gramSet{gs}
		}
	}
	return nil
}

// mayHold reports whether a chunk whose stored filter is b, with the
// unindexed bits un, may hold an exchange that meets g.
func (g *gramSet) mayHold(b []byte, un int16) bool {
	n := len(b) / 8
	if un&g.unindexed != 0 || n == 0 || n&(n-1) != 0 || n > bloomWords {
		return true
	}
	for _, h := range g.hashes {
		w := h.word & (n - 1)
		if binary.LittleEndian.Uint64(b[8*w:])&h.bits != h.bits {
			return false
		}
	}
	return true
}

// An idSpan is an inclusive range of IDs; the zero idSpan is unbounded.
type idSpan struct {
	lo, hi  []byte
	bounded bool
}

// A chunkWalk reads the chunks of the skip index that may hold what a
// filter selects, newest first, a window at a time, and returns their ID
// ranges: those out of which no exchange can meet the gram sets gs and
// the conditions on chunks' keys (of chunkConds).
//
// A window is the chunks with the largest highest IDs (an index on hi
// finds them), first firstWindow, then four times as many each window:
// a page of a common value reads a few dozen chunks instead of all of
// them (at 1,000,000 exchanges, 1,000 chunks read before every page made
// paging ~c 500 five times slower than with the B-tree on status), and
// a value in no chunk reads them all in a few windows. Every chunk that
// reaches above the lowest highest ID of a window, its floor, is in it or
// in a window before, so the window decides every ID above its floor;
// chunks that reach below are kept for the next.
//
// Candidate chunks that follow each other in the order of their lowest
// IDs, with no other chunk between, make one range, gaps included: every
// stored exchange is in the range of some chunk, so a gap holds none,
// and a walk through one range takes fewer queries than one a chunk (at
// 1,000,000 exchanges, the first page of ~m POST & ~c 500 read 6 chunks
// of 1,000 exchanges in 6 queries).
type chunkWalk struct {
	tx     querier
	gs     []gramSet
	query  string // what reads the chunks, but the bound on hi and the limit
	args   []any
	top    []byte  // the chunks of the next window have hi <= top; nil: any
	carry  []chunk // chunks read that reach below the last floor
	window int     // the chunks of the next window
	done   bool
}

// A chunk is a chunk of the skip index, decided: ok if it may hold what
// the walk's filter selects.
type chunk struct {
	lo, hi []byte
	ok     bool
}

// firstWindow is the chunks of a walk's first window. Tests make it
// smaller.
var firstWindow = 32

// newChunkWalk returns a walk of the chunks with IDs below before (unless
// it is nil); args are those of keys.
func newChunkWalk(tx querier, gs []gramSet, keys []string, args []any, before []byte) *chunkWalk {
	bits := "bits"
	if len(gs) == 0 {
		bits = "NULL::bytea" // not read: leave it in its TOAST table
	}
	cand := "TRUE"
	if len(keys) > 0 {
		cand = strings.Join(keys, " AND ")
	}
	w := &chunkWalk{tx: tx, gs: gs, args: slices.Clone(args), window: firstWindow,
		query: "SELECT lo, hi, " + cand + ", unindexed, " + bits + " FROM blooms WHERE TRUE"}
	if before != nil {
		w.args = append(w.args, before)
		w.query += fmt.Sprintf(" AND lo < $%d", len(w.args))
	}
	return w
}

// next returns the ID ranges of the next window, newest first and
// disjoint, and whether more windows follow (below the last range).
func (w *chunkWalk) next(ctx context.Context) (spans []idSpan, more bool, err error) {
	if w.done {
		return nil, false, nil
	}
	q, args := w.query, w.args
	if w.top != nil {
		args = append(slices.Clip(args), w.top)
		q += fmt.Sprintf(" AND hi <= $%d", len(args))
	}
	rows, err := w.tx.Query(ctx, q+fmt.Sprintf(" ORDER BY hi DESC LIMIT %d", w.window), args...)
	if err != nil {
		return nil, false, err
	}
	chunks := w.carry
	var c chunk
	var un int16
	var b []byte
	read := 0
	_, err = pgx.ForEachRow(rows, []any{&c.lo, &c.hi, &c.ok, &un, &b}, func() error {
		for i := 0; c.ok && i < len(w.gs); i++ {
			c.ok = w.gs[i].mayHold(b, un)
		}
		chunks = append(chunks, chunk{slices.Clone(c.lo), slices.Clone(c.hi), c.ok})
		read++
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// This window decides the IDs in (floor, ceil]: those above ceil,
	// the windows before.
	ceil := w.top
	var floor, from []byte // from: the smallest ID above floor
	if read == w.window {
		floor = chunks[len(chunks)-1].hi
		from = append(slices.Clip(floor), 0)
		w.top, w.window = floor, 4*w.window
	} else {
		w.done = true
	}
	// Only what reaches above the floor counts here; what reaches below
	// is kept for the next window (what lies wholly below comes again).
	w.carry = nil
	in := chunks[:0:0]
	for _, c := range chunks {
		if floor != nil && bytes.Compare(c.hi, floor) <= 0 {
			continue
		}
		in = append(in, c)
		if floor != nil && bytes.Compare(c.lo, floor) <= 0 {
			w.carry = append(w.carry, c)
		}
	}
	slices.SortFunc(in, func(a, b chunk) int { return bytes.Compare(a.lo, b.lo) })
	run := false // the last chunk was a candidate: spans' last grows
	for _, c := range in {
		switch {
		case !c.ok:
		case run:
			if last := &spans[len(spans)-1]; bytes.Compare(c.hi, last.hi) > 0 {
				last.hi = c.hi
			}
		default:
			spans = append(spans, idSpan{c.lo, c.hi, true})
		}
		run = c.ok
	}
	// Clip to the window, merge those that overlap (chunks of concurrent
	// writers), then newest first.
	merged := spans[:0]
	for _, s := range spans {
		if from != nil && bytes.Compare(s.lo, from) < 0 {
			s.lo = from
		}
		if ceil != nil && bytes.Compare(s.hi, ceil) > 0 {
			s.hi = ceil
		}
		if k := len(merged) - 1; k >= 0 && bytes.Compare(s.lo, merged[k].hi) <= 0 {
			if bytes.Compare(s.hi, merged[k].hi) > 0 {
				merged[k].hi = s.hi
			}
			continue
		}
		merged = append(merged, s)
	}
	slices.Reverse(merged)
	return merged, !w.done, nil
}
