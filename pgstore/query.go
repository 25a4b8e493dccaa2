package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/exchrow"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// List returns the summaries of the exchanges q selects, newest first.
// See ListPage.
func (s *Store) List(ctx context.Context, q store.Query) ([]store.Summary, error) {
	sums, _, err := s.ListPage(ctx, q)
	return sums, err
}

// ListPage returns the summaries of the exchanges q selects, newest first,
// and the cursor of the next page (the ID to pass as q.Before), or the
// zero ID when none is left. Pages are by keyset on the ID, never by
// offset.
//
// The parts of q's filter that SQL decides cost what the database makes
// them cost. Where it does not decide (a regular expression, which SQL
// may only narrow by the literal strings it needs; a header or a body),
// ListPage reads candidates a page at a time and decides in Go: from the
// row's columns when they tell, else from the whole exchange, until it
// has q.Limit summaries, has examined q.MaxScan candidates, or has none
// left.
func (s *Store) ListPage(ctx context.Context, q store.Query) (sums []store.Summary, next bodytap.ID, err error) {
	defer s.searched(time.Now())
	examined := 0
	err = s.each(ctx, &q, false, func(r *listRow, decided bool) (bool, error) {
		if decided {
			sums = append(sums, r.sum)
			if q.Limit > 0 && len(sums) == q.Limit {
				next = r.sum.ID
				return false, nil
			}
		}
		examined++
		if q.MaxScan > 0 && examined >= q.MaxScan {
			next = r.sum.ID
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, bodytap.ID{}, fmt.Errorf("pgstore: list: %w", err)
	}
	return sums, next, nil
}

// Count counts the exchanges q selects (ignoring Limit and MaxScan).
// When SQL decides the whole filter it is one count(*). Otherwise,
// unless SQL is sure of no row, one query counts the candidates SQL is
// sure of and those it is not; when there are none of the latter (a
// filter that SQL decides but on lossy rows, which are rare: a method, a
// URL), that is the count. Else the candidates SQL is not sure of are
// decided as ListPage does, which ctx can bound (every candidate, when
// SQL is sure of none).
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	defer s.searched(time.Now())
	var n int64
	done, counted := false, false
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		if whole(&q) && schemaVersion >= bloomVersion {
			done = true
			var err error
			n, err = countAll(ctx, tx)
			return err
		}
		c := s.compiler(ctx, tx)
		c.counting = true
		p, err := c.compile(&q)
		if err != nil {
			return err
		}
		if !p.exact() && p.sure == "FALSE" {
			return nil // Go decides every candidate
		}
		// Only in the candidate chunks' ranges, when they are few: a
		// value that no chunk lists costs no scan of the rows.
		walk, err := s.candidates(c.again(), &q)
		if err != nil {
			return err
		}
		var spans []idSpan
		for walk != nil {
			sps, more, err := walk.next(ctx)
			if err != nil {
				return fmt.Errorf("skip index: %w", err)
			}
			if spans = append(spans, sps...); len(spans) > maxCountSpans {
				break
			}
			if !more {
				if len(spans) == 0 {
					done = true // none
					return nil
				}
				break
			}
		}
		where := p.maybe
		if walk != nil && len(spans) <= maxCountSpans {
			var in []string
			for _, sp := range spans {
				p.args = append(p.args, sp.lo, sp.hi)
				in = append(in, fmt.Sprintf("e.id BETWEEN $%d AND $%d", len(p.args)-1, len(p.args)))
			}
			where = and("("+strings.Join(in, " OR ")+")", where)
		}
		if p.exact() {
			done = true
			query, args := p.sql("SELECT count(*) FROM exchanges e WHERE ", where)
			return tx.QueryRow(ctx, query, args...).Scan(&n)
		}
		var unsure int64
		query, args := p.sql("SELECT count(*) FILTER (WHERE ", p.sure, "), count(*) FILTER (WHERE NOT ", p.sure,
			") FROM exchanges e WHERE ", where)
		if err := tx.QueryRow(ctx, query, args...).Scan(&n, &unsure); err != nil {
			return err
		}
		counted, done = true, unsure == 0
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: count: %w", err)
	}
	if done {
		return n, nil
	}
	q.Limit, q.MaxScan = 0, 0
	err = s.each(ctx, &q, counted, func(_ *listRow, decided bool) (bool, error) {
		if decided {
			n++
		}
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: count: %w", err)
	}
	return n, nil
}

// whole reports whether q selects every exchange.
func whole(q *store.Query) bool {
	return (q.Filter == nil || q.Filter.Root == nil) && q.Since.IsZero() && q.Until.IsZero() && q.Before.IsZero() && q.After.IsZero()
}

// searched counts a search that started at start, for Stats.
func (s *Store) searched(start time.Time) {
	s.searchNs.Add(int64(time.Since(start)))
	s.searches.Add(1)
}

// readTx runs fn in a read-only transaction.
func (s *Store) readTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// maxCountSpans bounds the ID ranges that a count lists in its query.
const maxCountSpans = 64

// candidates returns the walk of the chunks that may hold what q's filter
// selects, or nil when the filter needs no body word and no method,
// domain or status (see chunkWalk). c compiles the conditions on chunks;
// its querier reads them.
func (s *Store) candidates(c *compiler, q *store.Query) (*chunkWalk, error) {
	if q.Filter == nil || q.Filter.Root == nil {
		return nil, nil
	}
	gs := bodyGrams(q.Filter.Root)
	var keys []string
	if schemaVersion >= keysVersion {
		var err error
		if keys, err = c.chunkConds(q.Filter.Root); err != nil {
			return nil, err
		}
	}
	if len(gs) == 0 && len(keys) == 0 {
		return nil, nil
	}
	var before []byte
	if !q.Before.IsZero() {
		before = q.Before[:]
	}
	return newChunkWalk(c.tx, gs, keys, c.args, before), nil
}

// each calls fn with every candidate row of q, newest first, a page at a
// time, telling whether it matches, until fn returns false or an error;
// with unsure, only the candidates that SQL, compiling q for a count, is
// not sure of.
func (s *Store) each(ctx context.Context, q *store.Query, unsure bool, fn func(r *listRow, match bool) (bool, error)) error {
	var f *filter.Filter
	if q.Filter != nil && q.Filter.Root != nil {
		f = q.Filter
	}
	c := s.compiler(ctx, s.pool)
	c.counting = unsure
	walk, err := s.candidates(c, q)
	if err != nil {
		return err
	}
	l := &look{q: q, f: f, fn: fn, c: c.again(), size: candidatePage, idsFirst: f != nil && len(bodyNeeds(f.Root)) > 0,
		unsure: unsure}
	if walk == nil {
		_, err := s.eachIn(ctx, l, idSpan{})
		return err
	}
	for {
		spans, more, err := walk.next(ctx)
		if err != nil {
			return fmt.Errorf("skip index: %w", err)
		}
		for _, sp := range spans {
			if cont, err := s.eachIn(ctx, l, sp); err != nil || !cont {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// A look is a call of each.
type look struct {
	q    *store.Query
	f    *filter.Filter
	fn   func(r *listRow, match bool) (bool, error)
	c    *compiler // what compiled the chunks' conditions, with the terms it read
	size int       // of the next page
	seen int       // candidates given to fn
	// Pages read the IDs of candidates alone, and the rest of their row
	// only for those that match: a body search, most of whose candidates
	// its bodies decide (see sift). Reading the whole row of each
	// candidate was about a third of the time of the first page of ~b
	// zebracorn (1% of bodies) at 1,000,000 exchanges.
	idsFirst bool
	unsure   bool // only the candidates that SQL is not sure of
}

// eachIn is each in the span sp of IDs: more reports that fn did not
// stop it.
func (s *Store) eachIn(ctx context.Context, l *look, sp idSpan) (more bool, err error) {
	q, f, fn := l.q, l.f, l.fn
	cursor := q.Before
	for {
		limit := l.size
		if l.seen == 0 && !l.idsFirst && q.Limit > 0 {
			// SQL decides most candidates of a filter that needs no
			// body (all but lossy rows, for a method or a domain): a
			// first page of Limit is often the answer. Without the
			// B-tree on method, reading 256 rows of ~m POST & ~c 500
			// walked 2.5 times as far back as the 101 asked.
			limit = min(limit, q.Limit)
		}
		if q.MaxScan > 0 {
			limit = max(1, min(limit, q.MaxScan-l.seen))
		}
		l.size = min(2*l.size, maxCandidatePage)
		page, full, err := s.page(ctx, l, cursor, sp, limit)
		if err != nil {
			return false, err
		}
		if err := s.decide(ctx, f, page, l.idsFirst); err != nil {
			return false, err
		}
		for i := range page {
			c := &page[i]
			if c.gone {
				continue
			}
			l.seen++
			more, err := fn(&c.r, c.match)
			if err != nil || !more {
				return false, err
			}
		}
		if !full {
			return true, nil
		}
		cursor = page[len(page)-1].r.sum.ID
	}
}

type candidate struct {
	r     listRow
	sure  bool // SQL says it matches
	match bool // set by decide
	gone  bool // deleted (by retention) before decide read it
}

// A stored is a row of bodies, as read.
type stored struct {
	id, meta, req, resp, raw []byte
	shape                    int64
}

// storedColumns are the columns of bodies that scan reads, in order.
const storedColumns = "b.id, b.meta, b.shape, b.req, b.resp, b.raw"

func (b *stored) scanTargets() []any {
	return []any{&b.id, &b.meta, &b.shape, &b.req, &b.resp, &b.raw}
}

// decode returns the exchange that b holds.
func (b *stored) decode() (*bodytap.Exchange, error) {
	req, err := decompress(b.req)
	var resp, meta []byte
	if err == nil {
		resp, err = decompress(b.resp)
	}
	if err == nil {
		meta, err = decompress(b.meta)
	}
	if err != nil {
		return nil, fmt.Errorf("decompress exchange: %w", err)
	}
	x, err := exchrow.Decode(meta, b.shape, req, resp, b.raw)
	if err != nil {
		return nil, fmt.Errorf("decode exchange: %w", err)
	}
	return x, nil
}

// decide sets match on the candidates of page: those that neither SQL
// nor their columns decide need their exchanges, read in one query. With
// idsOnly, the page holds the candidates' IDs alone: their columns decide
// nothing, and decide reads the rows of those that match.
func (s *Store) decide(ctx context.Context, f *filter.Filter, page []candidate, idsOnly bool) error {
	var need [][]byte
	verdicts := make([]verdict, len(page))
	for i := range page {
		if page[i].sure {
			verdicts[i] = yes
		} else if idsOnly {
			need = append(need, page[i].r.sum.ID[:])
		} else if verdicts[i] = decideRow(f.Root, &page[i].r); verdicts[i] == unknown {
			need = append(need, page[i].r.sum.ID[:])
		}
	}
	var xs map[bodytap.ID]*bodytap.Exchange
	if len(need) > 0 {
		var err error
		if xs, err = s.load(ctx, need, bodyNeeds(f.Root)); err != nil {
			return err
		}
	}
	for i := range page {
		c := &page[i]
		c.match = verdicts[i] == yes
		if verdicts[i] == unknown {
			x, ok := xs[c.r.sum.ID]
			c.gone = !ok
			c.match = x != nil && f.Match(x)
		}
	}
	if idsOnly {
		return s.matchRows(ctx, page)
	}
	return nil
}

// matchRows reads the rows of the candidates of page that match, in one
// query; those it does not find were deleted since the page was read.
func (s *Store) matchRows(ctx context.Context, page []candidate) error {
	var ids [][]byte
	at := map[bodytap.ID]int{}
	for i := range page {
		if c := &page[i]; c.match && !c.gone {
			ids = append(ids, c.r.sum.ID[:])
			at[c.r.sum.ID] = i
			c.gone = true // until read
		}
	}
	if len(ids) == 0 {
		return nil
	}
	lo, hi := idBounds(ids)
	rows, err := s.pool.Query(ctx, "SELECT "+summaryColumns+" FROM exchanges e WHERE e.id BETWEEN $1 AND $2 AND e.id = ANY($3)", lo, hi, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r listRow
		if err := scanRow(rows, &r); err != nil {
			return err
		}
		if i, ok := at[r.sum.ID]; ok {
			page[i].r, page[i].gone = r, false
		}
	}
	return rows.Err()
}

// Candidates are read a page at a time: the first page of a look is
// small, so that a page of matches comes fast when they are many, and
// the pages after grow, so that a look that examines thousands of
// candidates (a body search) takes few round trips (measured at 100,000
// exchanges, ~b zebracorn with MaxScan 5,000: pages of 256 took 170 to
// 185 ms, of 1,024 95 to 142 ms); never more than a MaxScan left.
const (
	candidatePage    = 256
	maxCandidatePage = 2048
)

// page reads the next page of at most limit candidates of the query of
// l before cursor, in the span sp (unbounded where its ends are nil).
// full reports that the page is as long as asked: more rows may follow.
func (s *Store) page(ctx context.Context, l *look, cursor bodytap.ID, sp idSpan, limit int) (page []candidate, full bool, err error) {
	q, idsOnly := l.q, l.idsFirst
	qq := *q
	qq.Before = cursor
	p, err := l.c.again().compile(&qq)
	if err != nil {
		return nil, false, err
	}
	if p.exact() && q.Limit > 0 {
		limit = q.Limit
	}
	maybe := p.maybe
	if l.unsure {
		maybe = and(maybe, not(p.sure))
	}
	if sp.bounded {
		p.args = append(p.args, sp.lo, sp.hi)
		maybe = and(fmt.Sprintf("e.id BETWEEN $%d AND $%d", len(p.args)-1, len(p.args)), maybe)
	}
	cols := summaryColumns
	if idsOnly {
		cols = "e.id"
	}
	query, args := p.sql("SELECT "+cols+", ", p.sure, " FROM exchanges e WHERE ", maybe,
		fmt.Sprintf(" ORDER BY e.id DESC LIMIT %d", limit))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		page = append(page, candidate{})
		c := &page[len(page)-1]
		if idsOnly {
			var id pgtype.DriverBytes
			err = rows.Scan(&id, &c.sure)
			copy(c.r.sum.ID[:], id)
		} else {
			err = scanRow(rows, &c.r, &c.sure)
		}
		if err != nil {
			return nil, false, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return page, len(page) == limit, nil
}

// load reads the exchanges of ids; those it does not find are missing
// from the map, and those whose bodies do not meet needs are nil in it,
// left unread but for their bodies.
func (s *Store) load(ctx context.Context, ids [][]byte, needs []bodyNeed) (map[bodytap.ID]*bodytap.Exchange, error) {
	xs := make(map[bodytap.ID]*bodytap.Exchange, len(ids))
	if len(ids) == 0 {
		return xs, nil
	}
	if len(needs) > 0 {
		var err error
		if ids, err = s.sift(ctx, ids, needs, xs); err != nil || len(ids) == 0 {
			return xs, err
		}
	}
	rows, err := s.bodies(ctx, storedColumns, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var b stored
		if err := rows.Scan(b.scanTargets()...); err != nil {
			return nil, err
		}
		var key bodytap.ID
		copy(key[:], b.id)
		x, err := b.decode()
		if err != nil {
			return nil, err
		}
		xs[key] = x
	}
	return xs, rows.Err()
}

// sift reads only the bodies of ids, decoded into two buffers it reuses,
// and returns the ids whose bodies meet needs; the others it sets to nil
// in xs. Most candidates of a body search fail here, and the rest of
// their row (the JSON form, the other columns: as much again as the
// bodies) is neither sent nor copied.
func (s *Store) sift(ctx context.Context, ids [][]byte, needs []bodyNeed, xs map[bodytap.ID]*bodytap.Exchange) (keep [][]byte, err error) {
	rows, err := s.bodies(ctx, "b.id, b.req, b.resp", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var reqBuf, respBuf []byte
	for rows.Next() {
		var id, zreq, zresp pgtype.DriverBytes // valid until Next
		if err := rows.Scan(&id, &zreq, &zresp); err != nil {
			return nil, err
		}
		req, err := decompressTo(reqBuf, zreq)
		var resp []byte
		if err == nil {
			resp, err = decompressTo(respBuf, zresp)
		}
		if err != nil {
			return nil, fmt.Errorf("decompress exchange: %w", err)
		}
		reqBuf, respBuf = grown(reqBuf, req, zreq), grown(respBuf, resp, zresp)
		if met(needs, req, resp) {
			keep = append(keep, bytes.Clone(id))
			continue
		}
		var key bodytap.ID
		copy(key[:], id)
		xs[key] = nil
	}
	return keep, rows.Err()
}

// bodies queries the columns cols of the bodies of ids. The bounds of
// the IDs, redundant in logic, let PostgreSQL find the rows by a range
// of the primary key in the partitions that hold it: = ANY alone, on the
// 2,048 IDs of a candidate page, took 3 times as long (measured at
// 100,000 exchanges: 29 ms for 5,000 IDs, 10 ms with the bounds).
func (s *Store) bodies(ctx context.Context, cols string, ids [][]byte) (pgx.Rows, error) {
	lo, hi := idBounds(ids)
	return s.pool.Query(ctx, "SELECT "+cols+" FROM bodies b WHERE b.id BETWEEN $1 AND $2 AND b.id = ANY($3)", lo, hi, ids)
}

// idBounds returns the smallest and the largest of ids (not empty).
func idBounds(ids [][]byte) (lo, hi []byte) {
	lo, hi = ids[0], ids[0]
	for _, id := range ids[1:] {
		if bytes.Compare(id, lo) < 0 {
			lo = id
		} else if bytes.Compare(id, hi) > 0 {
			hi = id
		}
	}
	return lo, hi
}

// grown returns the buffer to decode the next value into: out when it
// is decoded memory (not a part of the stored value in), else buf.
func grown(buf, out, in []byte) []byte {
	if len(out) > 0 && len(in) > 0 && in[0] != codingRaw && cap(out) > cap(buf) {
		return out
	}
	return buf
}

// Scan yields the full exchanges q selects, newest first, reading a page
// of them at a time. After an error it stops.
func (s *Store) Scan(ctx context.Context, q store.Query) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) {
		limit := q.Limit
		yielded := 0
		for {
			pq := q
			pq.Limit, pq.MaxScan = candidatePage, 0
			if limit > 0 {
				pq.Limit = min(candidatePage, limit-yielded)
			}
			sums, next, err := s.ListPage(ctx, pq)
			if err != nil {
				yield(nil, fmt.Errorf("pgstore: scan: %w", err))
				return
			}
			ids := make([][]byte, len(sums))
			for i := range sums {
				ids[i] = sums[i].ID[:]
			}
			xs, err := s.load(ctx, ids, nil)
			if err != nil {
				yield(nil, fmt.Errorf("pgstore: scan: %w", err))
				return
			}
			for i := range sums {
				x := xs[sums[i].ID]
				if x == nil {
					continue
				}
				if !yield(x, nil) {
					return
				}
				if yielded++; limit > 0 && yielded >= limit {
					return
				}
			}
			if next.IsZero() {
				return
			}
			q.Before = next
		}
	}
}

// A verdict is what Go can tell of a node from a row's columns.
type verdict int8

const (
	unknown verdict = iota // the exchange is needed
	no
	yes
)

func verdictOf(b bool) verdict {
	if b {
		return yes
	}
	return no
}

// decideRow evaluates n on the columns of r as Filter.Match evaluates it
// on the exchange, where they tell; unknown where the exchange is needed
// (headers, bodies, and strings of a lossy row).
func decideRow(n filter.Node, r *listRow) verdict {
	switch n := n.(type) {
	case nil:
		return yes
	case filter.And:
		x := decideRow(n.X, r)
		if x == no {
			return no
		}
		y := decideRow(n.Y, r)
		switch {
		case y == no:
			return no
		case x == yes && y == yes:
			return yes
		}
		return unknown
	case filter.Or:
		x := decideRow(n.X, r)
		if x == yes {
			return yes
		}
		y := decideRow(n.Y, r)
		switch {
		case y == yes:
			return yes
		case x == no && y == no:
			return no
		}
		return unknown
	case filter.Not:
		switch decideRow(n.X, r) {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	case filter.Flag:
		switch n.Op {
		case filter.OpAll, filter.OpHTTP:
			return yes
		case filter.OpAsset:
			return verdictOf(r.flags&flagAsset != 0)
		case filter.OpError:
			return verdictOf(r.flags&flagError != 0)
		case filter.OpNoResp:
			return verdictOf(r.sum.Status == 0)
		case filter.OpResponse:
			return verdictOf(r.sum.Status != 0)
		case filter.OpWebsocket:
			return verdictOf(r.flags&flagWebsocket != 0)
		}
		return no
	case filter.Status, filter.Compare:
		x := &bodytap.Exchange{Duration: r.sum.Duration}
		x.Response.Status = r.sum.Status
		x.Request.Body.Size, x.Response.Body.Size = r.sum.ReqSize, r.sum.RespSize
		return verdictOf((&filter.Filter{Root: n}).Match(x))
	case filter.Path:
		if r.flags&flagLossy != 0 {
			return unknown
		}
		x := &bodytap.Exchange{Request: bodytap.Request{URL: &url.URL{Path: r.sum.Path}}}
		return verdictOf((&filter.Filter{Root: n}).Match(x))
	case filter.Match:
		return decideMatch(&n, r)
	}
	return no
}

func decideMatch(m *filter.Match, r *listRow) verdict {
	re := m.Re
	if re == nil || r.flags&flagLossy != 0 {
		return unknown
	}
	any := func(vs []string) bool {
		for _, v := range vs {
			if re.MatchString(v) {
				return true
			}
		}
		return false
	}
	hasResp := r.sum.Status != 0
	switch m.Op {
	case filter.OpMethod:
		return verdictOf(re.MatchString(r.sum.Method))
	case filter.OpURL:
		return verdictOf(re.MatchString(r.sum.URL))
	case filter.OpDomain:
		return verdictOf(re.MatchString(r.domain))
	case filter.OpRoute:
		return verdictOf(re.MatchString(r.sum.Route))
	case filter.OpSrc:
		return verdictOf(re.MatchString(r.remote))
	case filter.OpReqContentType:
		return verdictOf(any(r.reqCtype))
	case filter.OpRespContentType:
		return verdictOf(hasResp && any(r.ctype))
	case filter.OpContentType:
		return verdictOf(any(r.reqCtype) || hasResp && any(r.ctype))
	case filter.OpDst:
		// What Filter.Match sees on the URL and Host that Get returns.
		x := &bodytap.Exchange{Request: bodytap.Request{Host: r.sum.Host}}
		if r.sum.URL != "" {
			u, err := url.Parse(r.sum.URL)
			if err != nil {
				return unknown
			}
			x.Request.URL = u
		}
		return verdictOf((&filter.Filter{Root: *m}).Match(x))
	case filter.OpHeader, filter.OpReqHeader, filter.OpRespHeader,
		filter.OpBody, filter.OpReqBody, filter.OpRespBody:
		return unknown
	}
	return no
}
