package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The columns a row fills, in the order of its values.
var (
	exchangeColumns = []string{
		"id", "start", "method", "host", "domain", "path", "url", "remote", "status",
		"duration", "ttfb", "req_size", "resp_size", "ctype", "req_ctype", "route", "error", "flags",
	}
	bodyColumns = []string{"id", "meta", "shape", "req", "resp", "raw"}
)

// copier is a connection or a transaction.
type copier interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// copyRows copies rows into the tables xt (of exchangeColumns) and bt
// (of bodyColumns) with COPY: the writer's exchanges and bodies, or an
// import's temporary tables.
func copyRows(ctx context.Context, tx copier, xt, bt string, rows []*row) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{xt}, exchangeColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{r.id, r.start, r.method, r.host, r.domain, r.path, r.url, r.remote, r.status,
				r.duration, r.ttfb, r.reqSize, r.respSize, r.ctype, r.reqCtype, r.route, r.errText, r.flags}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", xt, err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{bt}, bodyColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{r.id, r.meta, r.shape, r.req, r.resp, r.rawText}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", bt, err)
	}
	return nil
}
