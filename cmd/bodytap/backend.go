package main

import (
	"context"
	"errors"
	"flag"
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
	return openWriter(ctx, db, opts, nil)
}

// A spoolFlags is --spool and --spool-max: where a writer (proxy,
// collect) of a PostgreSQL store keeps the batches it cannot write while
// the database is away (see pgstore.Options.SpoolDir).
type spoolFlags struct {
	dir string
	max sizeFlag
}

func addSpoolFlags(fs *flag.FlagSet) *spoolFlags {
	sp := &spoolFlags{max: pgstore.DefaultSpoolMaxBytes}
	fs.StringVar(&sp.dir, "spool", "", "with a postgres:// --db: keep the batches the database cannot take while it is away in this `directory`, "+
		"and write them when it is back (default: a directory named after the database in the user's cache directory)")
	fs.Var(&sp.max, "spool-max", "with a postgres:// --db: the most the spool holds, such as 1GiB; past it, exchanges are dropped (0: no spool, a batch that cannot be written is lost)")
	return sp
}

// check refuses the flags with a local --db, which has no spool.
func (sp *spoolFlags) check(db string) error {
	if sp != nil && !isPostgres(db) && (sp.dir != "" || sp.max != pgstore.DefaultSpoolMaxBytes) {
		return usagef("--spool and --spool-max apply to a postgres:// --db only: a local store has no database to wait for")
	}
	return nil
}

// openWriter is openStore for a command that writes, with its spool
// flags (nil: the defaults).
func openWriter(ctx context.Context, db string, opts store.Options, sp *spoolFlags) (stores.Store, error) {
	if err := sp.check(db); err != nil {
		return nil, err
	}
	if !isPostgres(db) {
		s, err := openLocal(db, opts)
		if err != nil {
			return nil, err // not a nil *store.Store in a stores.Store
		}
		return s, nil
	}
	var s stores.Store
	var err error
	if sp == nil {
		s, err = stores.Open(ctx, db, opts)
	} else {
		pg := pgstore.Options{MaxAge: opts.MaxAge, MaxCount: opts.MaxCount, MaxBytes: opts.MaxBytes,
			ReadOnly: opts.ReadOnly, Logger: opts.Logger, SpoolDir: sp.dir, SpoolMaxBytes: int64(sp.max)}
		if sp.max == 0 {
			pg.SpoolMaxBytes = -1
		}
		var ps *pgstore.Store
		if ps, err = pgstore.Open(ctx, db, pg); err == nil {
			s = ps
		}
	}
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
