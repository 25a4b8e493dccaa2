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
// The writer fills the keys of the newest chunk as it inserts, and
// stores them with its body filter; a file of an earlier version gets
// them for every chunk when the writer opens it (buildMissingKeys): a
// read of the columns, no bodies.
const keysBytes = 512

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

// keyWord returns the word of the key hash h in a keys filter, and its
// two bits there.
func keyWord(h uint64) (int, uint64) {
	return int(h >> 58 & (keysBytes/8 - 1)), 1<<(h>>52&63) | 1<<(h>>46&63)
}

func keysAdd(f []byte, h uint64) {
	i, bits := keyWord(h)
	w := f[i*8 : i*8+8 : i*8+8]
	binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)|bits)
}

// keysHasAny reports whether the keys filter f may hold one of hs. A
// filter of another size (a later version's) may hold anything.
func keysHasAny(f []byte, hs []uint64) bool {
	if len(f) != keysBytes {
		return true
	}
	for _, h := range hs {
		i, bits := keyWord(h)
		if binary.LittleEndian.Uint64(f[i*8:])&bits == bits {
			return true
		}
	}
	return false
}

// addRowKeys adds the keys of a row's columns to the keys filter f.
func addRowKeys(f []byte, method, domain, route, ctype, reqCtype string, status int64, failed bool) {
	for k, v := range [numTermKinds]string{method, domain, route, ctype, reqCtype} {
		keysAdd(f, keyHash(k, v))
	}
	keysAdd(f, statusKey(status))
	if failed {
		keysAdd(f, keyHash(keyError, ""))
	}
}

func statusKey(status int64) uint64 {
	return keyHash(keyStatus, strconv.FormatInt(status, 10))
}

// keyedChunks returns the chunks whose keys filter rules out a conjunct
// of a filter: for each of sets, none of its keys is in it. Chunks with
// no keys filter are not among them.
func keyedChunks(ctx context.Context, tx queryer, sets [][]uint64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT chunk, bits FROM chunk_keys ORDER BY chunk")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var skip []int64
	var bits []byte
	for rows.Next() {
		var chunk int64
		if err := rows.Scan(&chunk, &bits); err != nil {
			return nil, err
		}
		for _, hs := range sets {
			if !keysHasAny(bits, hs) {
				skip = append(skip, chunk)
				break
			}
		}
	}
	return skip, rows.Err()
}

// buildKeys fills keys with the keys of the rows stored of chunk, of
// 1<<shift exchanges.
func buildKeys(ctx context.Context, tx queryer, keys []byte, chunk, shift int64) error {
	clear(keys)
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
		addRowKeys(keys, method, domain, route, ctype, reqCtype, status, failed)
	}
	return rs.Err()
}
