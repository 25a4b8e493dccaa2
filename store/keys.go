package store

import (
	"context"
	"encoding/binary"
	"strconv"
)

// Filters on the columns that many exchanges share a value of (method,
// domain, route, the Content-Types, status, whether there was an error)
// go through a skip index of their own, not B-tree indexes: each of
// those indexes cost every insert a descent and a page write, together
// about half of the writer's time in SQLite (BenchmarkIngest), and
// served mostly values so common that walking the ID index newest first
// and testing each row finds a page as soon. For each chunk of the body
// skip index (see bloom.go), a small Bloom filter (keysBytes, table
// chunk_keys) holds the chunk's keys: each row's value of each of those
// columns, with its kind. A filter whose conjunct can only match
// exchanges with one of a few keys (~m PROPFIND, ~d ^api\., ~c 5xx, ~e)
// skips the chunks whose filter has none of them, and when that rules
// out most of the store the query runs chunk by chunk (see chunkSearch),
// so that a rare value is found by reading a few chunks.
//
// A conjunction of such values, each common, can be rare (~m DELETE &
// ~c 503): a second filter of each chunk (pairsBytes, table chunk_pairs,
// read only for such a conjunction) holds the pairs of method and host,
// method and status, host and status that its exchanges have, so that
// such a filter skips the chunks without the pair.
//
// Which values are rare is known only from the keys: a page (or a Scan)
// first looks at the newest keysProbe chunks, and if most of them may
// hold the values, walks the ID index instead of reading every chunk's
// keys.
//
// The writer fills the keys of the newest chunk as it inserts, and
// stores them with its body filter; a file of an earlier version gets
// them for every chunk when the writer opens it (buildMissingKeys): a
// read of the columns, no bodies.
const (
	keysBytes  = 512
	pairsBytes = 2048
)

// Kinds of keys besides the term* kinds of the columns terms keeps.
const (
	keyStatus = numTermKinds + iota // the status, in decimal
	keyError                        // the exchange failed (error != '')
)

// keyHash returns the hash of the value v of kind: FNV-1a, then mixed
// (MurmurHash3's finalizer) so that its high bits, which pick the bits
// of the filter, depend on all of v.
func keyHash(kind int, v string) uint64 {
	const prime = 1099511628211
	h := (uint64(14695981039346656037) ^ uint64(kind)) * prime
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// keyWord returns the word of the key hash h in a filter of words
// 64-bit words (a power of two), and its two bits there.
func keyWord(h uint64, words int) (int, uint64) {
	return int(h>>32) & (words - 1), 1<<(h>>52&63) | 1<<(h>>46&63)
}

func keysAdd(f []byte, h uint64) {
	i, bits := keyWord(h, len(f)/8)
	w := f[i*8 : i*8+8 : i*8+8]
	binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)|bits)
}

// keysHasAny reports whether the filter f, of size bytes, may hold one
// of hs. A filter of another size (a later version's) may hold anything.
func keysHasAny(f []byte, size int, hs []uint64) bool {
	if len(f) != size {
		return true
	}
	for _, h := range hs {
		i, bits := keyWord(h, size/8)
		if binary.LittleEndian.Uint64(f[i*8:])&bits == bits {
			return true
		}
	}
	return false
}

// pairKey returns the key of the pair of the value a of kind ka and b of
// kind kb, ka < kb (see pairable).
func pairKey(ka int, a string, kb int, b string) uint64 {
	return keyHash(16+ka*8+kb, a+"\x00"+b)
}

// pairable reports whether the pairs filter holds pairs of the kinds a
// and b, a < b.
func pairable(a, b int) bool {
	return a == termMethod && (b == termDomain || b == keyStatus) || a == termDomain && b == keyStatus
}

// addRowKeys adds the keys of a row's columns to the keys filter f and
// their pairs to the pairs filter p.
func addRowKeys(f, p []byte, method, domain, route, ctype, reqCtype string, status int64, failed bool) {
	for k, v := range [numTermKinds]string{method, domain, route, ctype, reqCtype} {
		keysAdd(f, keyHash(k, v))
	}
	st := strconv.FormatInt(status, 10)
	keysAdd(f, keyHash(keyStatus, st))
	if failed {
		keysAdd(f, keyHash(keyError, ""))
	}
	keysAdd(p, pairKey(termMethod, method, termDomain, domain))
	keysAdd(p, pairKey(termMethod, method, keyStatus, st))
	keysAdd(p, pairKey(termDomain, domain, keyStatus, st))
}

// A keyConj is a conjunct of a filter that only exchanges with one of
// keys match; if kind is not -1, keys are those of vals, values of kind.
type keyConj struct {
	keys []uint64
	kind int
	vals []string
}

// maxPairKeys bounds the pairs of values that a filter looks for.
const maxPairKeys = 1024

// keySets returns the sets of keys, one of each set in the keys filter
// (singles) or the pairs filter (pairs) of a chunk, that the exchanges
// conjs match need: one per conjunct, and one per pair of conjuncts of
// kinds that the pairs filter pairs.
func keySets(conjs []keyConj) (singles, pairs [][]uint64) {
	for i, c := range conjs {
		singles = append(singles, c.keys)
		for _, d := range conjs[i+1:] {
			a, b := c, d
			if a.kind > b.kind {
				a, b = b, a
			}
			if !pairable(a.kind, b.kind) || len(a.vals)*len(b.vals) > maxPairKeys {
				continue
			}
			var set []uint64
			for _, va := range a.vals {
				for _, vb := range b.vals {
					set = append(set, pairKey(a.kind, va, b.kind, vb))
				}
			}
			pairs = append(pairs, set)
		}
	}
	return singles, pairs
}

// keysProbe is how many of the newest chunks a query for a page looks at
// first: if their keys rule out fewer than half of them, the values are
// common, and a page walks the ID index (see Store.useChunks).
const keysProbe = 64

// keyedChunks returns the chunks whose keys rule out a conjunct of a
// filter, or a pair of them (see keySets), among the newest limit chunks
// that have keys (all of them if limit is 0), and how many it looked at.
// Chunks with no keys are not among them.
func keyedChunks(ctx context.Context, tx queryer, conjs []keyConj, limit int) (skip []int64, looked int, err error) {
	singles, pairs := keySets(conjs)
	out := make(map[int64]bool)
	look := func(table string, size int, sets [][]uint64) (int, error) {
		q := "SELECT chunk, bits FROM " + table + " ORDER BY chunk DESC"
		if limit > 0 {
			q += " LIMIT " + strconv.Itoa(limit)
		}
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		var bits []byte
		for rows.Next() {
			var chunk int64
			if err := rows.Scan(&chunk, &bits); err != nil {
				return 0, err
			}
			n++
			if ruledOut(bits, size, sets) {
				out[chunk] = true
			}
		}
		return n, rows.Err()
	}
	if looked, err = look("chunk_keys", keysBytes, singles); err != nil {
		return nil, 0, err
	}
	if len(pairs) > 0 {
		if _, err := look("chunk_pairs", pairsBytes, pairs); err != nil {
			return nil, 0, err
		}
	}
	for c := range out {
		skip = append(skip, c)
	}
	return skip, looked, nil
}

// ruledOut reports whether the filter f, of size bytes, lacks every key
// of one of sets.
func ruledOut(f []byte, size int, sets [][]uint64) bool {
	for _, hs := range sets {
		if !keysHasAny(f, size, hs) {
			return true
		}
	}
	return false
}

// buildKeys fills keys and pairs with the keys of the rows stored of
// chunk, of 1<<shift exchanges.
func buildKeys(ctx context.Context, tx queryer, keys, pairs []byte, chunk, shift int64) error {
	clear(keys)
	clear(pairs)
	rs, err := tx.QueryContext(ctx, `SELECT method, domain, route, ctype, req_ctype, status, error != ''
		FROM exchanges WHERE rid >= ? AND rid < ?`, chunk<<shift, (chunk+1)<<shift)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var method, domain, route, ctype, reqCtype string
		var status int64
		var failed bool
		if err := rs.Scan(&method, &domain, &route, &ctype, &reqCtype, &status, &failed); err != nil {
			return err
		}
		addRowKeys(keys, pairs, method, domain, route, ctype, reqCtype, status, failed)
	}
	return rs.Err()
}
