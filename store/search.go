package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// A body search reads bodies from the log, and on a large store that is
// most of its cost: about 2 GiB for a million exchanges with 2 KiB of
// bodies each. A query whose filter matches bodies (and that SQL decides
// exactly), or whose filter the keys of chunks rule out of most chunks
// (see keys.go), therefore runs chunk by chunk (the chunks of the skip
// index, 1024 exchanges by rid; 4096 in files made before version 5),
// newest first:
//
//   - a chunk whose filter lacks a trigram that a body match of one of
//     the filter's conjuncts needs is not read at all;
//   - the others are read by a few workers at once (one per CPU, at most
//     searchWorkers), each in its own read transaction, by the range of
//     their rids (their rows, and the blocks of the log that hold their
//     bodies, lie side by side), at most searchAhead chunks ahead of
//     the one the caller waits for;
//   - what a chunk matches is yielded in ID order as soon as no older
//     chunk can hold a newer exchange: IDs go by the time a request
//     started, rids by the time it was stored, so a long request is
//     stored after shorter ones that started later. The store asks the
//     ID index for the newest ID of the rows below the chunk, which
//     costs a walk over the rows read since the last yield.
//
// So the first page of a search comes as soon as the newest chunks hold
// it, a search that matches nothing costs one read of each chunk that
// may match, on every CPU, and Query.Progress hears how far it is.
const (
	searchWorkers = 4
	searchAhead   = 8
)

// useChunks reports whether p, a modeChunk plan, runs chunk by chunk:
// one whose filter matches bodies, or whose keys rule out at least half
// of the chunks (see keys.go; a value that most chunks hold is found
// as soon by walking the ID index newest first).
func (s *Store) useChunks(p *plan) bool {
	if !p.exact || p.shift < 0 || s.lr == nil || p.rids[1] == 0 {
		return false
	}
	chunks := p.rids[1]>>p.shift - p.rids[0]>>p.shift + 1
	return p.body || int64(p.keyed)*2 >= chunks
}

// chunkable reports whether q's filter matches bodies or columns that
// the keys of chunks hold (see keys.go): whether it is worth compiling
// as a modeChunk plan.
func chunkable(q Query) bool {
	var keyed func(filter.Node) bool
	keyed = func(n filter.Node) bool {
		switch n := n.(type) {
		case filter.And:
			return keyed(n.X) || keyed(n.Y)
		case filter.Status:
			return true
		case filter.Flag:
			return n.Op == filter.OpError
		case filter.Match:
			switch n.Op {
			case filter.OpMethod, filter.OpDomain, filter.OpRoute, filter.OpReqContentType,
				filter.OpRespContentType, filter.OpContentType:
				return true
			}
		}
		return false
	}
	return hasBody(q) || q.Filter != nil && keyed(q.Filter.Root)
}

// hasBody reports whether q's filter matches bodies.
func hasBody(q Query) bool {
	var reads func(filter.Node) bool
	reads = func(n filter.Node) bool {
		switch n := n.(type) {
		case filter.And:
			return reads(n.X) || reads(n.Y)
		case filter.Or:
			return reads(n.X) || reads(n.Y)
		case filter.Not:
			return reads(n.X)
		case filter.Match:
			return n.Op == filter.OpBody || n.Op == filter.OpReqBody || n.Op == filter.OpRespBody
		}
		return false
	}
	return q.Filter != nil && reads(q.Filter.Root)
}

// chunkSearch runs p, a modeChunk plan of q, chunk by chunk, newest
// first, and calls fn with the rows it selects until fn returns false or
// an error: in ID order (newest first) if ordered, else (for a count) as
// each chunk is read.
func (s *Store) chunkSearch(ctx context.Context, p *plan, q Query, ordered bool, fn func(rid int64, sum *Summary) (bool, error)) error {
	lo, hi := p.rids[0], p.rids[1]
	if hi == 0 {
		q.progress(0, 0)
		return nil
	}
	// The newest row that Before and Until let in bounds the rids to
	// read.
	bound := q.Before
	if !q.Until.IsZero() {
		if until := bodytap.ID(idAt(q.Until.UnixMilli() + 1)); bound.IsZero() || bytes.Compare(until[:], bound[:]) < 0 {
			bound = until
		}
	}
	if !bound.IsZero() {
		var top int64
		err := s.rdb.QueryRowContext(ctx, "SELECT coalesce((SELECT rid FROM exchanges WHERE +id < ? ORDER BY rid DESC LIMIT 1), 0)", bound[:]).Scan(&top)
		if err != nil {
			return err
		}
		hi = min(hi, top)
	}
	total := max(hi-lo+1, 0)
	var chunks []int64
	if total > 0 {
		for c := hi >> p.shift; c >= lo>>p.shift; c-- {
			if !p.skip[c] {
				chunks = append(chunks, c)
			}
		}
	}
	q.progress(0, total)
	if len(chunks) == 0 {
		q.progress(total, total)
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		sums []Summary
		rids []int64
		err  error
	}
	results := make([]chan result, len(chunks))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	// A worker takes a slot before it takes a chunk: at most searchAhead
	// chunks are read or wait to be taken.
	slots := make(chan struct{}, searchAhead)
	var next atomic.Int64
	var wg sync.WaitGroup
	query := "SELECT e.rid, e.loc, e.flags, e.status FROM exchanges e WHERE e.rid >= ? AND e.rid <= ? AND " + p.where
	for range min(runtime.GOMAXPROCS(0), searchWorkers, len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := &blockReader{dir: s.lr.dir}
			defer br.close()
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				c := chunks[i]
				args := append([]any{max(c<<p.shift, lo), min((c+1)<<p.shift-1, hi)}, p.args...)
				var r result
				r.sums, r.rids, r.err = s.readChunk(ctx, br, p, query, args)
				results[i] <- r
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	type pendingRow struct {
		rid int64
		sum Summary
	}
	var pending []pendingRow // newest first
	cursor := q.Before       // the last ID yielded, or the bound
	for i, c := range chunks {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if r.err != nil {
			return r.err
		}
		for k := range r.sums {
			pending = append(pending, pendingRow{r.rids[k], r.sums[k]})
		}
		bottom := max(c<<p.shift, lo)
		q.progress(hi-bottom+1, total)
		if len(pending) == 0 {
			continue
		}
		slices.SortFunc(pending, func(a, b pendingRow) int { return bytes.Compare(b.sum.ID[:], a.sum.ID[:]) })
		// The rows at or below newest may come from older chunks: they
		// wait for them.
		var newest bodytap.ID
		if ordered && i < len(chunks)-1 {
			var err error
			if newest, err = s.newestBelow(ctx, bottom, cursor); err != nil {
				return err
			}
		}
		n := 0
		for n < len(pending) && bytes.Compare(pending[n].sum.ID[:], newest[:]) > 0 {
			more, err := fn(pending[n].rid, &pending[n].sum)
			if err != nil || !more {
				return err
			}
			cursor = pending[n].sum.ID
			n++
		}
		pending = pending[:copy(pending, pending[n:])]
	}
	q.progress(total, total)
	return nil
}

// readChunk runs query, which selects the rid, loc, flags and status of
// the rows of a chunk that the SQL of p selects, keeps those whose bodies
// match p.goBodies too, read with br, and returns their summaries. The
// summaries are read last, of the rows kept only: reading those of every
// row cost more than matching their bodies.
func (s *Store) readChunk(ctx context.Context, br *blockReader, p *plan, query string, args []any) (sums []Summary, rids []int64, err error) {
	type cand struct {
		rid, flags, status int64
		loc                sql.NullInt64
	}
	var cands []cand
	err = func() error {
		rows, err := s.rdb.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.rid, &c.loc, &c.flags, &c.status); err != nil {
				return err
			}
			cands = append(cands, c)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cands {
		if c.loc.Valid && len(p.goBodies) > 0 {
			rec, err := br.record(c.loc.Int64)
			switch {
			case errors.Is(err, ErrNotFound):
				continue // removed by retention since the query began
			case err != nil:
				return nil, nil, err
			}
			ok := true
			for _, b := range p.goBodies {
				if ok = b.matches(&rec, c.status, c.flags); !ok {
					break
				}
			}
			if !ok {
				continue
			}
		}
		rids = append(rids, c.rid)
	}
	if len(rids) == 0 {
		return nil, nil, nil
	}
	var b strings.Builder
	b.WriteString("SELECT " + summaryColumns + " FROM exchanges e WHERE e.rid IN (")
	for i, rid := range rids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(rid, 10))
	}
	b.WriteString(")")
	rids = rids[:0]
	err = eachSummary(ctx, s.rdb, b.String(), nil, func(rid int64, sum *Summary) error {
		sums = append(sums, *sum)
		rids = append(rids, rid)
		return nil
	})
	return sums, rids, err
}

// A blockReader reads records from the log for one goroutine, a block
// at a time: a chunk's exchanges lie side by side in the log, and each
// block is read and decoded once, into buffers that the next block
// reuses (a search decodes gigabytes: garbage made the collector stop
// the workers hundreds of times a second), without the shared reader's
// lock and cache. A record it returns is valid until the next call.
type blockReader struct {
	dir           string
	file          int64
	f             *os.File
	off           int64 // of the block decoded, -1 if none
	payload, data []byte
	recs          [][]byte
}

// record returns the record at loc; ErrNotFound if retention removed its
// segment.
func (r *blockReader) record(loc int64) (record, error) {
	file, off, k := splitLoc(loc)
	if r.f == nil || r.file != file {
		r.close()
		f, err := os.Open(segPath(r.dir, file))
		if errors.Is(err, fs.ErrNotExist) {
			return record{}, ErrNotFound
		}
		if err != nil {
			return record{}, err
		}
		r.f, r.file, r.off = f, file, -1
	}
	if r.off != off {
		r.off = -1
		if err := r.read(off); err != nil {
			return record{}, fmt.Errorf("segment %s offset %d: %w", segPath(r.dir, file), off, err)
		}
		r.off = off
	}
	if k >= len(r.recs) {
		return record{}, fmt.Errorf("segment %s offset %d: no record %d: %w", segPath(r.dir, file), off, k, errCorrupt)
	}
	return parseRecord(r.recs[k])
}

// read reads and decodes the block at off, as readBlock does.
func (r *blockReader) read(off int64) error {
	var h [blockHeader]byte
	if _, err := r.f.ReadAt(h[:], off); err != nil {
		return fmt.Errorf("read block header: %w", err)
	}
	size, count := binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[12:])
	if count == 0 || count > 1<<locRecBits || size > 1<<30 {
		return fmt.Errorf("bad block header: %w", errCorrupt)
	}
	r.payload = slices.Grow(r.payload[:0], int(size))[:size]
	if _, err := r.f.ReadAt(r.payload, off+blockHeader); err != nil {
		return fmt.Errorf("read block: %w", err)
	}
	if crc32.Update(crc32.Update(0, crcTable, h[8:]), crcTable, r.payload) != binary.LittleEndian.Uint32(h[4:]) {
		return fmt.Errorf("checksum mismatch: %w", errCorrupt)
	}
	n, err := s2.DecodedLen(r.payload)
	if err != nil || n != int(binary.LittleEndian.Uint32(h[8:])) {
		return fmt.Errorf("bad block length: %w", errCorrupt)
	}
	if r.data, err = s2.Decode(slices.Grow(r.data[:0], n)[:n], r.payload); err != nil {
		return fmt.Errorf("decode block: %v: %w", err, errCorrupt)
	}
	r.recs, err = splitRecords(r.recs[:0], r.data, int(count))
	return err
}

func (r *blockReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// newestBelow returns the newest ID of the rows before rid that are
// older than before (the zero ID: no bound), or the zero ID if there
// is none. It walks the ID index down from before.
func (s *Store) newestBelow(ctx context.Context, rid int64, before bodytap.ID) (bodytap.ID, error) {
	query := "SELECT id FROM exchanges WHERE +rid < ? ORDER BY id DESC LIMIT 1"
	args := []any{rid}
	if !before.IsZero() {
		query = "SELECT id FROM exchanges WHERE id < ? AND +rid < ? ORDER BY id DESC LIMIT 1"
		args = []any{before[:], rid}
	}
	var id []byte
	if err := s.rdb.QueryRowContext(ctx, "SELECT coalesce(("+query+"), x'')", args...).Scan(&id); err != nil {
		return bodytap.ID{}, fmt.Errorf("newest ID below a chunk: %w", err)
	}
	var out bodytap.ID
	copy(out[:], id)
	return out, nil
}

// progress calls q.Progress, if set.
func (q *Query) progress(scanned, total int64) {
	if q.Progress != nil {
		q.Progress(scanned, total)
	}
}
