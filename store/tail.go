package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bodytap/bodytap/filter"
)

// Subscribe sends the summaries of new exchanges that match f (nil: all)
// as they are stored — by this process or by another one writing the same
// file — until ctx is done or the store is closed; then it closes the
// channel.
//
// New means committed after Subscribe returns, in commit order. (Commit
// order, not ID order: an exchange gets its ID when its request starts,
// so a long request commits after shorter ones that started later, and
// following IDs would miss it.) The store looks for new exchanges after
// each of its own commits and every 250 ms, which is when those of
// another process show up.
//
// A subscriber that does not keep up neither slows the writer nor loses
// exchanges: the goroutine that feeds its channel waits for it, and then
// goes on from where it was, reading what was committed meanwhile a page
// at a time. Only exchanges that retention deletes before it gets to them
// are skipped.
func (s *Store) Subscribe(ctx context.Context, f *filter.Filter) <-chan Summary {
	ch := make(chan Summary, candidatePage)
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.subs.Add(1)
	}
	s.mu.Unlock()
	if closed {
		close(ch)
		return ch
	}
	var last int64
	err := s.rdb.QueryRowContext(ctx, "SELECT coalesce(max(rid), 0) FROM exchanges").Scan(&last)
	var p *plan
	if err == nil {
		// Without terms: the plan outlives transactions, and new values
		// come.
		p, err = s.compile(ctx, nil, Query{Filter: f}, modeTail, 0)
	}
	if err != nil {
		s.log.Error("bodytap store: subscribe", "path", s.path, "err", err)
		s.subs.Done()
		close(ch)
		return ch
	}
	go func() {
		defer s.subs.Done()
		defer close(ch)
		defer p.close()
		ticker := time.NewTicker(pollInterval)
		defer ticker.Stop()
		var lastErr time.Time
		for {
			commit := s.commitChan()
			sums, next, full, err := s.tail(ctx, p, last)
			if err != nil && ctx.Err() == nil && time.Since(lastErr) > 10*time.Second {
				lastErr = time.Now()
				s.log.Error("bodytap store: subscription", "path", s.path, "err", err)
			}
			for _, sum := range sums {
				select {
				case ch <- sum:
				case <-ctx.Done():
					return
				case <-s.quit:
					return
				}
			}
			last = next
			if full && err == nil {
				continue
			}
			select {
			case <-commit:
			case <-ticker.C:
			case <-ctx.Done():
				return
			case <-s.quit:
				return
			}
		}
	}()
	return ch
}

// tailQuery returns the query of the first page of rows p selects after
// row last, in commit order.
func tailQuery(p *plan, last int64) (string, []any) {
	return "SELECT " + summaryColumns + " FROM exchanges e WHERE e.rid > ? AND " + p.where +
			fmt.Sprintf(" ORDER BY e.rid LIMIT %d", candidatePage),
		append([]any{last}, p.args...)
}

// tail returns the summaries of the exchanges committed after row last
// that p selects, in commit order, up to a page of candidates; next is
// the last row examined, full that the page was full.
func (s *Store) tail(ctx context.Context, p *plan, last int64) (sums []Summary, next int64, full bool, err error) {
	next = last
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, next, false, err
	}
	defer tx.Rollback()
	query, args := tailQuery(p, last)
	type cand struct {
		rid int64
		sum Summary
	}
	var page []cand
	err = eachSummary(ctx, tx, query, args, func(rid int64, sum *Summary) error {
		page = append(page, cand{rid, *sum})
		return nil
	})
	if err != nil {
		return nil, next, false, err
	}
	if !p.exact && len(page) > 0 {
		load, err := tx.PrepareContext(ctx, s.loadQuery("rid"))
		if err != nil {
			return nil, next, false, err
		}
		defer load.Close()
		for _, c := range page {
			x, err := s.loadExchange(ctx, load, c.rid)
			if errors.Is(err, ErrNotFound) {
				next = c.rid
				continue
			}
			if err != nil {
				return sums, next, false, err
			}
			if p.filter.Match(x) {
				sums = append(sums, c.sum)
			}
			next = c.rid
		}
		return sums, next, len(page) == candidatePage, nil
	}
	for _, c := range page {
		sums = append(sums, c.sum)
		next = c.rid
	}
	return sums, next, len(page) == candidatePage, nil
}
