package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pruneLock is the key of the advisory lock that one process holds while
// it applies retention, so that the writers sharing a database do not
// all count and delete at once.
const pruneLock = migrateLock + 1

// retains reports whether any retention is set.
func (s *Store) retains() bool {
	return s.opts.MaxAge > 0 || s.opts.MaxCount > 0 || s.opts.MaxBytes > 0
}

// Prune applies retention now: MaxAge, then MaxCount, then MaxBytes.
// The writer calls it on its own, at most once a minute after a write;
// it is exported for tests and for a maintenance job. When another
// process is pruning the same database, Prune leaves the work to it and
// returns nil.
//
// Each bound keeps the newest exchanges, by ID, and deletes the older
// ones: a day partition wholly past the bound is dropped (DROP TABLE,
// which frees its disk at once), and in the day the bound cuts, the rows
// older than the cut are deleted by ID range. MaxBytes counts the total
// relation size of the day partitions of exchanges and bodies; since a
// DELETE frees no disk until the table is rewritten, a day it cuts is
// rewritten with VACUUM FULL, which holds an exclusive lock on that
// day's tables while it runs (queries and writers of that day wait).
// Choose a MaxBytes of more than a day's captures to make it rare.
func (s *Store) Prune(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.retain(ctx)
}

// retain is Prune; the caller holds wmu.
func (s *Store) retain(ctx context.Context) error {
	if !s.retains() {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(pruneLock)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(pruneLock))
	if s.opts.MaxAge > 0 {
		if err := s.retainAge(ctx); err != nil {
			return fmt.Errorf("retention by age: %w", err)
		}
	}
	if s.opts.MaxCount > 0 {
		if err := s.retainCount(ctx); err != nil {
			return fmt.Errorf("retention by count: %w", err)
		}
	}
	if s.opts.MaxBytes > 0 {
		// A rewritten day holds its indexes' and tables' fixed overhead
		// besides the rows kept in proportion: cut again if need be.
		for range 10 {
			if over, err := s.retainBytes(ctx); err != nil {
				return fmt.Errorf("retention by bytes: %w", err)
			} else if !over {
				break
			}
		}
	}
	// The chunks of the skip index whose exchanges are all gone. (With
	// no exchange left, min is NULL and none is deleted: a writer's
	// chunk may be committing.)
	if _, err := s.pool.Exec(ctx, "DELETE FROM blooms WHERE hi < (SELECT id FROM exchanges ORDER BY id LIMIT 1)"); err != nil {
		return fmt.Errorf("retention of the skip index: %w", err)
	}
	return nil
}

// retainAge drops the partitions of the days wholly past MaxAge and
// deletes the older exchanges of the day it cuts.
func (s *Store) retainAge(ctx context.Context) error {
	cut := s.opts.Now().Add(-s.opts.MaxAge).UnixMilli()
	days, err := partitions(ctx, s.pool)
	if err != nil {
		return err
	}
	for _, d := range days {
		if (d+1)*dayMillis > cut {
			return s.deleteBefore(ctx, d, idAt(cut))
		}
		// The partition's last millisecond is before the cut.
		if err := s.dropDay(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// retainCount keeps the newest MaxCount exchanges.
func (s *Store) retainCount(ctx context.Context) error {
	days, err := partitions(ctx, s.pool)
	if err != nil {
		return err
	}
	kept := int64(0)
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		if kept >= s.opts.MaxCount {
			if err := s.dropDay(ctx, d); err != nil {
				return err
			}
			continue
		}
		n, err := s.countDay(ctx, d)
		if err != nil {
			return err
		}
		if kept+n > s.opts.MaxCount {
			if err := s.keepNewest(ctx, d, s.opts.MaxCount-kept); err != nil {
				return err
			}
			n = s.opts.MaxCount - kept
		}
		kept += n
	}
	return nil
}

// retainBytes keeps the newest days whose partitions fit in MaxBytes,
// and in the day that the bound cuts the newest part of its exchanges in
// proportion to what fits, rewriting its tables. over reports that it
// cut a day, which may still be over its share.
func (s *Store) retainBytes(ctx context.Context) (over bool, err error) {
	days, err := partitions(ctx, s.pool)
	if err != nil {
		return false, err
	}
	used := int64(0)
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		if used >= s.opts.MaxBytes {
			if err := s.dropDay(ctx, d); err != nil {
				return false, err
			}
			continue
		}
		size, err := s.daySize(ctx, d)
		if err != nil {
			return false, err
		}
		if used+size > s.opts.MaxBytes {
			n, err := s.countDay(ctx, d)
			if err != nil {
				return false, err
			}
			// 2% less than in proportion: the fixed overhead shrinks
			// less than the rows, and each round costs a rewrite.
			keep := int64(float64(n) * float64(s.opts.MaxBytes-used) / float64(size) * 0.98)
			if keep <= 0 {
				if err := s.dropDay(ctx, d); err != nil {
					return false, err
				}
				used = s.opts.MaxBytes
				continue
			}
			if err := s.keepNewest(ctx, d, keep); err != nil {
				return false, err
			}
			x, b := "exchanges"+partitionName(d), "bodies"+partitionName(d)
			if _, err := s.pool.Exec(ctx, "VACUUM FULL "+x+", "+b); err != nil {
				return false, fmt.Errorf("rewrite %s: %w", partitionName(d)[2:], err)
			}
			over = true
			size = s.opts.MaxBytes - used
		}
		used += size
	}
	return over, nil
}

// countDay counts the exchanges of day d.
func (s *Store) countDay(ctx context.Context, d int64) (n int64, err error) {
	err = s.pool.QueryRow(ctx, "SELECT count(*) FROM exchanges"+partitionName(d)).Scan(&n)
	return n, err
}

// daySize returns the total relation size of the partitions of day d.
func (s *Store) daySize(ctx context.Context, d int64) (n int64, err error) {
	err = s.pool.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass) + pg_total_relation_size($2::regclass)",
		"exchanges"+partitionName(d), "bodies"+partitionName(d)).Scan(&n)
	return n, err
}

// keepNewest deletes the exchanges of day d but its newest keep (> 0).
func (s *Store) keepNewest(ctx context.Context, d, keep int64) error {
	var cut []byte
	err := s.pool.QueryRow(ctx, fmt.Sprintf("SELECT id FROM exchanges%s ORDER BY id DESC OFFSET %d LIMIT 1", partitionName(d), keep-1)).Scan(&cut)
	if err == pgx.ErrNoRows {
		return nil // fewer than keep now
	}
	if err != nil {
		return err
	}
	return s.deleteBefore(ctx, d, cut)
}

// deleteBefore deletes the exchanges of day d whose IDs are less than id,
// in one transaction.
func (s *Store) deleteBefore(ctx context.Context, d int64, id []byte) error {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM exchanges"+partitionName(d)+" WHERE id < $1", id)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err = tx.Exec(ctx, "DELETE FROM bodies"+partitionName(d)+" WHERE id < $1", id); err != nil {
			return err
		}
		if schemaVersion >= bloomVersion && n > 0 {
			_, err = tx.Exec(ctx, `INSERT INTO counts (day, key, n) VALUES ($1, $2, $3)
				ON CONFLICT (day, key) DO UPDATE SET n = counts.n + excluded.n`, d, s.countKey, -n)
		}
		return err
	})
	if err == nil {
		s.deleted.Add(n)
	}
	return err
}

// dropDay drops the partitions of day d, counting what they held.
func (s *Store) dropDay(ctx context.Context, d int64) error {
	n, err := s.countDay(ctx, d)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS exchanges"+partitionName(d)+", bodies"+partitionName(d)); err != nil {
			return err
		}
		if schemaVersion >= bloomVersion {
			_, err = tx.Exec(ctx, "DELETE FROM counts WHERE day = $1", d)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("drop partition: %w", err)
	}
	s.deleted.Add(n)
	delete(s.days, d)
	return nil
}
