package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Counting the whole store (the viewer's total above an unfiltered
// list) would read every exchange's index entry: tens of milliseconds at
// 100,000, growing with the store. Instead the table counts (schema
// version 3) keeps how many exchanges each day holds, as deltas that the
// writers add in the transactions that store rows, each to rows of its
// own key (so that concurrent writers do not wait for each other), and
// that retention adds to, or deletes with the day, in the transactions
// that delete rows. Count of the whole store sums them: exact, whatever
// commits concurrently, since each delta commits with its rows.

// addCounts adds rows, inserted by the caller's transaction tx, to the
// counts of key.
func addCounts(ctx context.Context, tx pgx.Tx, key int64, rows []*row) error {
	var days, ns []int64
	for _, r := range rows {
		d := idDay(r.id)
		i := 0
		for i < len(days) && days[i] != d {
			i++
		}
		if i == len(days) {
			days, ns = append(days, d), append(ns, 0)
		}
		ns[i]++
	}
	_, err := tx.Exec(ctx, `INSERT INTO counts (day, key, n) SELECT unnest($1::bigint[]), $2, unnest($3::bigint[])
		ON CONFLICT (day, key) DO UPDATE SET n = counts.n + excluded.n`, days, key, ns)
	return err
}

// insertNew moves the rows of the tables xt and bt (a replay's or an
// import's, of exchangeColumns and bodyColumns) into the store, those
// whose IDs it does not hold yet, adding them to the counts of key, and
// returns how many it inserted.
func insertNew(ctx context.Context, tx pgx.Tx, xt, bt string, key int64) (int64, error) {
	xcols, bcols := strings.Join(exchangeColumns, ", "), strings.Join(bodyColumns, ", ")
	insert := "INSERT INTO exchanges (" + xcols + ") SELECT " + xcols + " FROM " + xt + " ON CONFLICT (id) DO NOTHING"
	var n int64
	var err error
	if schemaVersion >= bloomVersion {
		err = tx.QueryRow(ctx, `WITH ins AS (`+insert+` RETURNING id),
			c AS (INSERT INTO counts (day, key, n) SELECT bodytap_day(id), $1, count(*) FROM ins GROUP BY 1
				ON CONFLICT (day, key) DO UPDATE SET n = counts.n + excluded.n)
			SELECT count(*) FROM ins`, key).Scan(&n)
	} else {
		var tag interface{ RowsAffected() int64 }
		tag, err = tx.Exec(ctx, insert)
		if err == nil {
			n = tag.RowsAffected()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("into exchanges: %w", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO bodies ("+bcols+") SELECT "+bcols+" FROM "+bt+" ON CONFLICT (id) DO NOTHING"); err != nil {
		return 0, fmt.Errorf("into bodies: %w", err)
	}
	return n, nil
}

// countAll returns the number of exchanges the store holds.
func countAll(ctx context.Context, q querier) (int64, error) {
	rows, err := q.Query(ctx, "SELECT coalesce(sum(n), 0)::bigint FROM counts")
	if err != nil {
		return 0, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
}
