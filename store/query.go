package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchrow"
)

// candidatePage is how many rows a query reads at a time when Go decides
// which of them match, and Scan reads ahead.
const candidatePage = 256

// List returns the summaries of the exchanges q selects, newest first.
//
// The parts of q's filter that SQL decides (see the package
// documentation) cost what their indexes make them cost. When parts are
// left for Go to decide (header matches, say), List reads the candidates
// newest first, a page at a time, and decodes each to match it, until it
// has q.Limit summaries, has examined q.MaxScan candidates, or has none
// left; [Store.ListPage] says where it stopped.
func (s *Store) List(ctx context.Context, q Query) ([]Summary, error) {
	sums, _, err := s.ListPage(ctx, q)
	return sums, err
}

// ListPage is List that also returns the cursor of the next page: the ID
// to pass as q.Before to go on where this call stopped, or the zero ID
// when no exchange is left to examine. A page may be short, even empty,
// with more to come, when q.MaxScan stopped it.
func (s *Store) ListPage(ctx context.Context, q Query) (sums []Summary, next bodytap.ID, err error) {
	defer s.searched(time.Now())
	if cp, err := s.chunkPlan(ctx, q, q.Limit > 0); err != nil {
		return nil, next, fmt.Errorf("store: list: %w", err)
	} else if cp != nil {
		defer cp.close()
		err := s.chunkSearch(ctx, cp, q, true, func(_ int64, sum *Summary) (bool, error) {
			sums = append(sums, *sum)
			return q.Limit <= 0 || len(sums) < q.Limit, nil
		})
		if err != nil {
			return nil, next, fmt.Errorf("store: list: %w", err)
		}
		if q.Limit > 0 && len(sums) == q.Limit {
			next = sums[len(sums)-1].ID
		}
		return sums, next, nil
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, next, fmt.Errorf("store: list: %w", err)
	}
	defer tx.Rollback()
	// Without a limit, an exact plan reads every row it selects, as
	// its indexes serve best; other plans read pages.
	var p *plan
	if q.Limit <= 0 {
		p, err = s.compile(ctx, tx, q, modeAll, 0)
		if err == nil && !p.exact {
			p.close()
			p, err = s.compile(ctx, tx, q, modePage, candidatePage)
		}
	} else {
		p, err = s.compile(ctx, tx, q, modePage, q.Limit)
	}
	if err != nil {
		return nil, next, fmt.Errorf("store: list: %w", err)
	}
	defer p.close()
	if p.exact {
		query, args := listQuery(p, q.Limit)
		err := eachSummary(ctx, tx, query, args, func(_ int64, sum *Summary) error {
			sums = append(sums, *sum)
			return nil
		})
		if err != nil {
			return nil, next, fmt.Errorf("store: list: %w", err)
		}
		if q.Limit > 0 && len(sums) == q.Limit {
			next = sums[len(sums)-1].ID
		}
		return sums, next, nil
	}
	load, err := tx.PrepareContext(ctx, s.loadQuery("rid"))
	if err != nil {
		return nil, next, fmt.Errorf("store: list: %w", err)
	}
	defer load.Close()
	examined := 0
	err = s.candidates(ctx, tx, p, func(rid int64, sum *Summary) (bool, error) {
		x, err := s.loadExchange(ctx, load, rid)
		if errors.Is(err, ErrNotFound) {
			return true, nil // removed by retention since the transaction began
		}
		if err != nil {
			return false, err
		}
		examined++
		if p.filter.Match(x) {
			sums = append(sums, *sum)
			if q.Limit > 0 && len(sums) == q.Limit {
				next = sum.ID
				return false, nil
			}
		}
		if q.MaxScan > 0 && examined >= q.MaxScan {
			next = sum.ID
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, bodytap.ID{}, fmt.Errorf("store: list: %w", err)
	}
	return sums, next, nil
}

// chunkPlan returns the plan of q if it runs chunk by chunk (see
// chunkSearch), or nil.
func (s *Store) chunkPlan(ctx context.Context, q Query, page bool) (*plan, error) {
	if s.lr == nil || !chunkable(q) {
		return nil, nil
	}
	limit := 0
	if page {
		limit = max(q.Limit, 1)
	}
	p, err := s.compile(ctx, s.rdb, q, modeChunk, limit)
	if err != nil {
		return nil, err
	}
	if !s.useChunks(p) {
		p.close()
		return nil, nil
	}
	return p, nil
}

// listQuery returns the query of the first limit rows (0: all) that an
// exact plan selects.
func listQuery(p *plan, limit int) (string, []any) {
	query := "SELECT " + summaryColumns + " FROM exchanges e WHERE " + p.where + " ORDER BY " + p.order
	args := p.args
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args[:len(args):len(args)], limit)
	}
	return query, args
}

// candidates calls fn with the rows p's conditions select, newest first,
// reading them a page at a time, until fn returns false or an error.
func (s *Store) candidates(ctx context.Context, tx queryer, p *plan, fn func(rid int64, sum *Summary) (bool, error)) error {
	var cursor bodytap.ID
	type cand struct {
		rid int64
		sum Summary
	}
	page := make([]cand, 0, candidatePage)
	for {
		where, args := p.where, p.args
		if !cursor.IsZero() {
			where += " AND e.id < ?"
			args = append(args[:len(args):len(args)], cursor[:])
		}
		query := "SELECT " + summaryColumns + " FROM exchanges e WHERE " + where +
			fmt.Sprintf(" ORDER BY %s LIMIT %d", p.order, candidatePage)
		page = page[:0]
		err := eachSummary(ctx, tx, query, args, func(rid int64, sum *Summary) error {
			page = append(page, cand{rid, *sum})
			return nil
		})
		if err != nil {
			return err
		}
		for i := range page {
			more, err := fn(page[i].rid, &page[i].sum)
			if err != nil || !more {
				return err
			}
		}
		if len(page) < candidatePage {
			return nil
		}
		cursor = page[len(page)-1].sum.ID
	}
}

// eachSummary runs a query of summaryColumns and calls fn with each row.
func eachSummary(ctx context.Context, tx queryer, query string, args []any, fn func(rid int64, sum *Summary) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sum Summary
		rid, err := scanSummary(rows, &sum)
		if err != nil {
			return err
		}
		if err := fn(rid, &sum); err != nil {
			return err
		}
	}
	return rows.Err()
}

// loadQuery returns the query of the stored form of the exchange whose
// column col (rid or id) is the argument, for loadExchange.
func (s *Store) loadQuery(col string) string {
	loc := "e.loc"
	if s.lr == nil {
		loc = "NULL"
	}
	return "SELECT " + loc + ", b.meta, b.shape, b.req, b.resp, b.raw FROM exchanges e LEFT JOIN bodies b ON b.rid = e.rid WHERE e." + col + " = ?"
}

// loadExchange reads the exchange of the row that key selects with load,
// a loadQuery; ErrNotFound if there is none, or if retention removed the
// segment of the log that held it.
func (s *Store) loadExchange(ctx context.Context, load interface {
	QueryRowContext(context.Context, ...any) *sql.Row
}, key any) (*bodytap.Exchange, error) {
	var (
		loc                  sql.NullInt64
		meta, req, resp, raw []byte
		shape                sql.NullInt64
	)
	err := load.QueryRowContext(ctx, key).Scan(&loc, &meta, &shape, &req, &resp, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	switch {
	case loc.Valid:
		rec, err := s.lr.record(loc.Int64)
		if err != nil {
			return nil, err
		}
		// The exchange gets copies: the record's slices share the
		// block, which it would keep in memory.
		meta, shape.Int64, raw = rec.meta, rec.shape, rec.raw
		req, resp = bytes.Clone(rec.req), bytes.Clone(rec.resp)
	case meta == nil:
		return nil, errors.New("exchange without its stored form")
	}
	x, err := exchrow.Decode(meta, shape.Int64, req, resp, raw)
	if err != nil {
		return nil, fmt.Errorf("decode exchange: %w", err)
	}
	return x, nil
}

// stmtFunc adapts a query to loadExchange.
type stmtFunc struct {
	db    queryer
	query string
}

func (f stmtFunc) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return f.db.QueryRowContext(ctx, f.query, args...)
}

// Count counts the exchanges q selects (ignoring Limit and MaxScan).
//
// Without a filter or bounds it reads a counter: it costs nothing. With
// conditions SQL decides, it counts the rows they select, using the
// indexes they use, or chunk by chunk the chunks whose keys may hold a
// rare value (see keys.go); a condition neither serves reads every row
// (100 to 500 ms per million rows). Conditions left to Go (header
// matches, say) decode every candidate: that is slow on a large store,
// and ctx is the way to bound it.
func (s *Store) Count(ctx context.Context, q Query) (int64, error) {
	defer s.searched(time.Now())
	if cp, err := s.chunkPlan(ctx, q, false); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	} else if cp != nil {
		defer cp.close()
		var n int64
		err := s.chunkSearch(ctx, cp, q, false, func(int64, *Summary) (bool, error) {
			n++
			return true, nil
		})
		if err != nil {
			return 0, fmt.Errorf("store: count: %w", err)
		}
		return n, nil
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	defer tx.Rollback()
	p, err := s.compile(ctx, tx, q, modeAll, 0)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	defer p.close()
	var n int64
	switch {
	case p.where == "1" && p.exact:
		err = tx.QueryRowContext(ctx, "SELECT value FROM state WHERE key = 'count'").Scan(&n)
	case p.exact:
		err = tx.QueryRowContext(ctx, "SELECT count(*) FROM exchanges e WHERE "+p.where, p.args...).Scan(&n)
	default:
		var load *sql.Stmt
		if load, err = tx.PrepareContext(ctx, s.loadQuery("rid")); err != nil {
			break
		}
		defer load.Close()
		err = s.candidates(ctx, tx, p, func(rid int64, _ *Summary) (bool, error) {
			x, err := s.loadExchange(ctx, load, rid)
			if errors.Is(err, ErrNotFound) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if p.filter.Match(x) {
				n++
			}
			return true, nil
		})
	}
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}

// Get returns one exchange, bodies included, as it was recorded (see the
// package documentation for the one difference: Start is in UTC).
func (s *Store) Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error) {
	x, err := s.loadExchange(ctx, stmtFunc{s.rdb, s.loadQuery("id")}, id[:])
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: get %s: %w", id, err)
	}
	return x, nil
}

// Scan yields the full exchanges q selects, newest first, in constant
// memory: it reads the IDs of candidates a page at a time, and then each
// exchange on its own, holding no transaction open while the caller
// works. An exchange deleted (by retention) between the two is skipped.
// After an error it stops.
func (s *Store) Scan(ctx context.Context, q Query) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) {
		load := stmtFunc{s.rdb, s.loadQuery("rid")}
		yielded := 0
		cp, err := s.chunkPlan(ctx, q, true)
		if err != nil {
			yield(nil, fmt.Errorf("store: scan: %w", err))
			return
		}
		if cp != nil {
			defer cp.close()
			stopped := false
			err := s.chunkSearch(ctx, cp, q, true, func(rid int64, _ *Summary) (bool, error) {
				x, err := s.loadExchange(ctx, load, rid)
				switch {
				case errors.Is(err, ErrNotFound):
					return true, nil
				case err != nil:
					return false, err
				}
				if !yield(x, nil) {
					stopped = true
					return false, nil
				}
				yielded++
				return q.Limit <= 0 || yielded < q.Limit, nil
			})
			if err != nil && !stopped {
				yield(nil, fmt.Errorf("store: scan: %w", err))
			}
			return
		}
		for {
			rids, last, err := s.scanPage(ctx, q)
			if err != nil {
				yield(nil, fmt.Errorf("store: scan: %w", err))
				return
			}
			for _, rid := range rids {
				x, err := s.loadExchange(ctx, load, rid.rid)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					yield(nil, fmt.Errorf("store: scan: %w", err))
					return
				}
				if !rid.exact && !q.Filter.Match(x) {
					continue
				}
				if !yield(x, nil) {
					return
				}
				if yielded++; q.Limit > 0 && yielded >= q.Limit {
					return
				}
			}
			if last.IsZero() {
				return
			}
			q.Before = last
		}
	}
}

type scanRow struct {
	rid   int64
	exact bool
}

// scanPage returns the rows of the next page of a Scan, and the cursor
// for the page after it (zero if none).
func (s *Store) scanPage(ctx context.Context, q Query) ([]scanRow, bodytap.ID, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, bodytap.ID{}, err
	}
	defer tx.Rollback()
	p, err := s.compile(ctx, tx, q, modePage, candidatePage)
	if err != nil {
		return nil, bodytap.ID{}, err
	}
	defer p.close()
	rows, err := tx.QueryContext(ctx, "SELECT e.rid, e.id FROM exchanges e WHERE "+p.where+
		fmt.Sprintf(" ORDER BY %s LIMIT %d", p.order, candidatePage), p.args...)
	if err != nil {
		return nil, bodytap.ID{}, err
	}
	defer rows.Close()
	var page []scanRow
	var last bodytap.ID
	for rows.Next() {
		var r scanRow
		var id []byte
		if err := rows.Scan(&r.rid, &id); err != nil {
			return nil, bodytap.ID{}, err
		}
		r.exact = p.exact
		copy(last[:], id)
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, bodytap.ID{}, err
	}
	if len(page) < candidatePage {
		last = bodytap.ID{}
	}
	return page, last, nil
}
