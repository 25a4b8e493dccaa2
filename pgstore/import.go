package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchrow"
	"github.com/jackc/pgx/v5"
)

// Import stores exchanges read elsewhere (a HAR file, JSON Lines) in one
// transaction: all of them, or none on error. It returns how many it
// stored. It has the semantics of the local store's Import
// (store.(*Store).Import): exchanges keep their IDs; one whose ID the
// store holds already is skipped, not replaced, and not counted; one
// with the zero ID gets an ID from its Start; the exchanges are not
// changed; retention applies to the result.
//
// The exchanges are first copied into temporary tables of a connection
// of the import's own, then moved into the store by one INSERT, so that
// the partitions of the days they need are made without waiting for the
// import's transaction: a partition is made under a lock on the whole
// table.
func (s *Store) Import(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (int, error) {
	n, err := s.importAll(ctx, xs)
	if err != nil {
		return 0, fmt.Errorf("pgstore: import: %w", err)
	}
	return int(n), nil
}

func (s *Store) importAll(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (int64, error) {
	if s.opts.ReadOnly {
		return 0, errors.New("store is read-only")
	}
	if s.closed.Load() {
		return 0, errors.New("store closed")
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx)) // and its temporary tables
	xcols, bcols := strings.Join(exchangeColumns, ", "), strings.Join(bodyColumns, ", ")
	// Made of their columns: LIKE exchanges would lock exchanges until
	// the connection's transaction ends.
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE import_exchanges AS SELECT "+xcols+" FROM exchanges WITH NO DATA; "+
		"CREATE TEMP TABLE import_bodies AS SELECT "+bcols+" FROM bodies WITH NO DATA"); err != nil {
		return 0, err
	}
	var days []int64
	chunks := []*chunkFilter{{}} // of the skip index (bloom.go)
	rows := make([]*row, 0, maxBatch)
	flush := func() error {
		err := copyRows(ctx, conn, "import_exchanges", "import_bodies", rows)
		rows = rows[:0]
		return err
	}
	for x, err := range xs {
		if err != nil {
			return 0, err
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if x == nil {
			continue
		}
		x = exchrow.Identified(x)
		r, err := newRow(x)
		if err != nil {
			return 0, err
		}
		if chunks[len(chunks)-1].full() {
			chunks = append(chunks, &chunkFilter{})
		}
		chunks[len(chunks)-1].add(r, x.Request.Body.Bytes, x.Response.Body.Bytes)
		if d := idDay(r.id); !containsDay(days, d) {
			days = append(days, d)
		}
		if rows = append(rows, r); len(rows) == maxBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ensureDays(ctx, days); err != nil {
		return 0, err
	}
	var n int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var err error
		if n, err = insertNew(ctx, tx, "import_exchanges", "import_bodies", s.countKey); err != nil {
			return err
		}
		for _, f := range chunks {
			if f.rows > 0 && schemaVersion >= bloomVersion {
				if err := f.upsert(ctx, tx); err != nil {
					return err
				}
			}
		}
		// The terms of the exchanges, as the writer adds them.
		_, err = tx.Exec(ctx, fmt.Sprintf(`INSERT INTO terms (kind, value)
			SELECT %d, method FROM import_exchanges UNION SELECT %d, domain FROM import_exchanges
			UNION SELECT %d, route FROM import_exchanges UNION SELECT %d, unnest(ctype) FROM import_exchanges
			UNION SELECT %d, unnest(req_ctype) FROM import_exchanges
			ON CONFLICT DO NOTHING`, termMethod, termDomain, termRoute, termCtype, termReqCtype))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, pg_current_xact_id()::text)", notifyChannel)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.stored.Add(n)
	// Bulk loads leave the planner's statistics behind until autovacuum
	// comes by: a count of the fresh rows might scan them all.
	if _, err := s.pool.Exec(ctx, "ANALYZE exchanges"); err != nil {
		s.log.Error("bodytap pgstore: analyze after import", "db", s.url, "err", err)
	}
	if err := s.retain(ctx); err != nil {
		s.log.Error("bodytap pgstore: retention", "db", s.url, "err", err)
	}
	return n, nil
}
