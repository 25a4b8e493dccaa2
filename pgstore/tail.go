package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
)

// notifyChannel is the channel of the NOTIFY that every write sends in
// its transaction, with the transaction's ID as payload.
const notifyChannel = "bodytap_exchanges"

// Reconnection and safety polling of a subscription.
const (
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
	safetyPoll   = 10 * time.Second // in case a connection dies unnoticed
	errorLogGap  = 10 * time.Second // between two logs of one failing subscription
	closeTimeout = time.Second
)

// Subscribe sends the summaries of new exchanges that match f (nil: all)
// as they are committed — by this Store or by any other writing the same
// database, in any process — until ctx is done or the store is closed;
// then it closes the channel. It has the semantics of the local store's
// Subscribe (store.(*Store).Subscribe).
//
// New means committed after Subscribe returns. Summaries come in commit
// order per writer (a Store's writes are serialized), and within one
// write in ID order; writes of different Stores committed between two
// looks come ordered by transaction. (Not ID order: an exchange gets its
// ID when its request starts, and a slow writer commits after others
// wrote later IDs.)
//
// Each subscription holds a connection of its own, outside the pool,
// that LISTENs to the NOTIFY every write sends at its commit; on one, it
// reads what was committed since its last look: the rows whose
// transaction a snapshot taken now sees and the last one did not. So a
// notification is a wake-up, not data: those lost while the connection
// is down cost nothing, since after reconnecting (with backoff, up to
// 5 s) the subscription looks again. It also looks every 10 s, in case
// the connection dies unnoticed.
//
// A subscriber that does not keep up neither slows the writers nor loses
// exchanges: notifications are read as they come and coalesce, and the
// goroutine that feeds the channel waits for the subscriber, then reads
// what was committed meanwhile a page at a time. Only exchanges that
// retention deletes before it gets to them are skipped. Errors are
// logged, and the subscription tries again.
func (s *Store) Subscribe(ctx context.Context, f *filter.Filter) <-chan store.Summary {
	ch := make(chan store.Summary, candidatePage)
	s.smu.Lock()
	closed := s.closed.Load()
	if !closed {
		s.subs.Add(2)
	}
	s.smu.Unlock()
	if closed {
		close(ch)
		return ch
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel)
	t := &tail{s: s, ch: ch, wake: make(chan struct{}, 1)}
	if f != nil && f.Root != nil {
		t.f = f
	}
	err := s.pool.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&t.prev)
	if err != nil {
		s.log.Error("bodytap pgstore: subscribe", "db", s.url, "err", err)
		stop()
		cancel()
		s.subs.Add(-2)
		close(ch)
		return ch
	}
	go func() {
		defer s.subs.Done()
		defer close(ch)
		defer stop()
		defer cancel() // ends listen
		t.feed(ctx)
	}()
	go func() {
		defer s.subs.Done()
		t.listen(ctx)
	}()
	return ch
}

// A tail is the state of a subscription.
type tail struct {
	s    *Store
	f    *filter.Filter // nil: all
	ch   chan<- store.Summary
	wake chan struct{} // a look is due

	// The last look saw what snapshot prev sees. Reading what snapshot
	// cur adds to it, the look sent the rows up to (lastXid, lastID) in
	// (xid, id) order; cur is "" between looks.
	prev, cur string
	lastXid   string
	lastID    []byte
	lastErr   time.Time
	listenErr time.Time
}

func (t *tail) poke() {
	select {
	case t.wake <- struct{}{}:
	default: // a look is due already
	}
}

// listen keeps a connection LISTENing, poking the feeder at every
// notification and after every (re)connection, until ctx is done.
func (t *tail) listen(ctx context.Context) {
	backoff := minBackoff
	for {
		err := t.listenOnce(ctx, &backoff)
		if ctx.Err() != nil {
			return
		}
		t.logErr(&t.listenErr, "listen", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (t *tail) listenOnce(ctx context.Context, backoff *time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, t.s.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	*backoff = minBackoff
	for {
		// After LISTEN, a look also finds what was committed while no
		// connection listened.
		t.poke()
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}

// feed looks for new rows when poked or every safetyPoll, and sends
// them, until ctx is done.
func (t *tail) feed(ctx context.Context) {
	ticker := time.NewTicker(safetyPoll)
	defer ticker.Stop()
	for {
		select {
		case <-t.wake:
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
		for {
			err := t.look(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			t.logErr(&t.lastErr, "subscription", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
		}
	}
}

func (t *tail) logErr(last *time.Time, what string, err error) {
	if time.Since(*last) > errorLogGap {
		*last = time.Now()
		t.s.log.Error("bodytap pgstore: "+what, "db", t.s.url, "err", err)
	}
}

// look sends the rows committed since the last look that match, a page
// at a time. After an error, the next look goes on from where it failed.
func (t *tail) look(ctx context.Context) error {
	if t.cur == "" {
		if err := t.s.pool.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&t.cur); err != nil {
			return err
		}
		t.lastXid, t.lastID = "0", []byte{}
	}
	for {
		page, xids, err := t.page(ctx)
		if err != nil {
			return err
		}
		if err := t.s.decide(ctx, t.f, page, false); err != nil {
			return err
		}
		for i := range page {
			if page[i].match {
				select {
				case t.ch <- page[i].r.sum:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			t.lastXid, t.lastID = xids[i], page[i].r.sum.ID[:]
		}
		if len(page) < candidatePage {
			t.prev, t.cur = t.cur, ""
			return nil
		}
	}
}

// page reads the next page of candidates of the current look, and their
// transactions' IDs.
func (t *tail) page(ctx context.Context) (page []candidate, xids []string, err error) {
	err = t.s.readTx(ctx, func(tx pgx.Tx) error {
		// Compiled for each page: the terms that new rows brought are
		// visible with them.
		p, err := t.s.compiler(ctx, tx).compile(&store.Query{Filter: t.f})
		if err != nil {
			return err
		}
		n := len(p.args)
		p.args = append(p.args, t.prev, t.cur, t.lastXid, t.lastID)
		// The first condition lets the index on xid skip what every
		// snapshot since the last one saw.
		news := fmt.Sprintf(`e.xid >= pg_snapshot_xmin($%[1]d::text::pg_snapshot)
			AND NOT pg_visible_in_snapshot(e.xid, $%[1]d::text::pg_snapshot)
			AND pg_visible_in_snapshot(e.xid, $%[2]d::text::pg_snapshot)
			AND (e.xid, e.id) > ($%[3]d::text::xid8, $%[4]d)`, n+1, n+2, n+3, n+4)
		query, args := p.sql("SELECT "+summaryColumns+", ", p.sure, ", e.xid::text FROM exchanges e WHERE ",
			and(news, p.maybe), fmt.Sprintf(" ORDER BY e.xid, e.id LIMIT %d", candidatePage))
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			page = append(page, candidate{})
			xids = append(xids, "")
			c := &page[len(page)-1]
			if err := scanRow(rows, &c.r, &c.sure, &xids[len(xids)-1]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return page, xids, err
}
