package pgstore

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/exchrow"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
)

// candidatePage is how many rows a query reads at a time when Go decides
// some of them.
const candidatePage = 256

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
// them cost. Where it cannot decide (a regular expression, which SQL
// only narrows by the literal strings it needs; a header or a body),
// ListPage reads candidates a page at a time and decides in Go: from the
// row's columns when they tell, else from the whole exchange, until it
// has q.Limit summaries, has examined q.MaxScan candidates, or has none
// left.
func (s *Store) ListPage(ctx context.Context, q store.Query) (sums []store.Summary, next bodytap.ID, err error) {
	defer s.searched(time.Now())
	examined := 0
	err = s.each(ctx, &q, func(r *listRow, decided bool) (bool, error) {
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
// When SQL decides the whole filter it is one count(*); otherwise every
// candidate is decided as ListPage does, which ctx can bound.
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	defer s.searched(time.Now())
	var n int64
	exact := false
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		p, err := compile(ctx, tx, &q)
		if err != nil {
			return err
		}
		if exact = p.exact(); exact {
			query, args := p.sql("SELECT count(*) FROM exchanges e WHERE ", p.maybe)
			return tx.QueryRow(ctx, query, args...).Scan(&n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: count: %w", err)
	}
	if exact {
		return n, nil
	}
	q.Limit, q.MaxScan = 0, 0
	err = s.each(ctx, &q, func(_ *listRow, decided bool) (bool, error) {
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

// searched counts a search that started at start, for Stats.
func (s *Store) searched(start time.Time) {
	s.searchNs.Add(int64(time.Since(start)))
	s.searches.Add(1)
}

// readTx runs fn in a read-only transaction.
func (s *Store) readTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// each calls fn with every candidate row of q, newest first, a page at a
// time, telling whether it matches, until fn returns false or an error.
func (s *Store) each(ctx context.Context, q *store.Query, fn func(r *listRow, match bool) (bool, error)) error {
	cursor := q.Before
	var f *filter.Filter
	if q.Filter != nil && q.Filter.Root != nil {
		f = q.Filter
	}
	for {
		page, full, err := s.page(ctx, q, cursor)
		if err != nil {
			return err
		}
		if err := s.decide(ctx, f, page); err != nil {
			return err
		}
		for i := range page {
			c := &page[i]
			if c.gone {
				continue
			}
			more, err := fn(&c.r, c.match)
			if err != nil || !more {
				return err
			}
		}
		if !full {
			return nil
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

// decide sets match on the candidates of page: those that neither SQL
// nor their columns decide need their exchanges, read in one query.
func (s *Store) decide(ctx context.Context, f *filter.Filter, page []candidate) error {
	var need [][]byte
	verdicts := make([]verdict, len(page))
	for i := range page {
		if page[i].sure {
			verdicts[i] = yes
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
	return nil
}

// page reads the next page of candidates of q before cursor.
// full reports that the page is as long as asked: more rows may follow.
func (s *Store) page(ctx context.Context, q *store.Query, cursor bodytap.ID) (page []candidate, full bool, err error) {
	err = s.readTx(ctx, func(tx pgx.Tx) error {
		qq := *q
		qq.Before = cursor
		p, err := compile(ctx, tx, &qq)
		if err != nil {
			return err
		}
		limit := candidatePage
		if p.exact() && q.Limit > 0 {
			limit = q.Limit
		}
		query, args := p.sql("SELECT "+summaryColumns+", ", p.sure, " FROM exchanges e WHERE ", p.maybe,
			fmt.Sprintf(" ORDER BY e.id DESC LIMIT %d", limit))
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			page = append(page, candidate{})
			c := &page[len(page)-1]
			if err := scanRow(rows, &c.r, &c.sure); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		full = len(page) == limit
		return nil
	})
	return page, full, err
}

// load reads the exchanges of ids; those it does not find are missing
// from the map, and those whose bodies do not meet needs are nil in it,
// left undecoded.
func (s *Store) load(ctx context.Context, ids [][]byte, needs []bodyNeed) (map[bodytap.ID]*bodytap.Exchange, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, meta, shape, req, resp, raw FROM bodies WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	xs := make(map[bodytap.ID]*bodytap.Exchange, len(ids))
	for rows.Next() {
		var (
			id, meta, req, resp, raw []byte
			shape                    int64
		)
		if err := rows.Scan(&id, &meta, &shape, &req, &resp, &raw); err != nil {
			return nil, err
		}
		var key bodytap.ID
		copy(key[:], id)
		if req, err = decompress(req); err == nil {
			resp, err = decompress(resp)
		}
		if err != nil {
			return nil, fmt.Errorf("decompress exchange: %w", err)
		}
		if !met(needs, req, resp) {
			xs[key] = nil
			continue
		}
		if meta, err = decompress(meta); err != nil {
			return nil, fmt.Errorf("decompress exchange: %w", err)
		}
		x, err := exchrow.Decode(meta, shape, req, resp, raw)
		if err != nil {
			return nil, fmt.Errorf("decode exchange: %w", err)
		}
		xs[key] = x
	}
	return xs, rows.Err()
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
