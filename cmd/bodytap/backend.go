package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bodytap/bodytap/pgstore"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

// isPostgres reports whether --db names a PostgreSQL database rather
// than a file.
func isPostgres(db string) bool { return stores.IsPostgres(db) }

// dbName is --db as messages show it: a connection URL with its password
// masked, lest it end up in a terminal's scrollback or a log.
func dbName(db string) string { return stores.Name(db) }

// openStore opens the store that db names, a file or a postgres:// URL,
// for a command, with an error of one line that names it.
func openStore(ctx context.Context, db string, opts store.Options) (stores.Store, error) {
	if !isPostgres(db) {
		s, err := openLocal(db, opts)
		if err != nil {
			return nil, err // not a nil *store.Store in a stores.Store
		}
		return s, nil
	}
	s, err := stores.Open(ctx, db, opts)
	if err != nil {
		// pgstore's error names the masked URL too: say it once.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		} else {
			err = errors.New(strings.TrimPrefix(err.Error(), "pgstore: open "+dbName(db)+": "))
		}
		return nil, &storeError{fmt.Errorf("--db %s: %s", dbName(db), joinLines(err.Error())), err}
	}
	return s, nil
}

// A storeError is the error of openStore: its message for the command
// line, and what pgstore said, for errors.Is.
type storeError struct {
	msg   error
	inner error
}

func (e *storeError) Error() string { return e.msg.Error() }
func (e *storeError) Unwrap() error { return e.inner }

// noSchema reports whether err says that a PostgreSQL database holds no
// store yet.
func noSchema(err error) bool { return errors.Is(err, pgstore.ErrNoSchema) }

// joinLines makes pgx's error, one line per address tried, one line,
// saying each distinct line once.
func joinLines(s string) string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return strings.Join(out, " ")
}
