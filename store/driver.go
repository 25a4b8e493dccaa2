package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// drv is a SQLite driver of the store's own, so that its SQL functions do
// not reach other users of modernc.org/sqlite in the process.
var drv = func() *sqlite.Driver {
	d := new(sqlite.Driver)
	d.MustRegisterFunction("bodytap_match", &sqlite.FunctionImpl{
		NArgs:        -1,
		Scalar:       sqlMatch,
		VolatileArgs: true, // matchers never keep their argument
	})
	return d
}()

// connector opens connections of drv to one DSN.
type connector struct{ dsn string }

func (c connector) Connect(context.Context) (driver.Conn, error) { return drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return drv }

// A matcher is a predicate on column values that SQL calls as
// bodytap_match(handle, value...): a regular expression of a filter, a
// path glob. A value is a string (TEXT), a []byte (BLOB), an int64 or nil
// (NULL), valid only during the call.
type matcher func(values []driver.Value) bool

// A fallibleMatcher is a matcher that may fail: one that reads the log.
// Its error fails the query.
type fallibleMatcher func(values []driver.Value) (bool, error)

// matchers holds the matchers of the queries running now, by handle.
var matchers struct {
	sync.RWMutex
	m    map[int64]fallibleMatcher
	next atomic.Int64
}

// addMatcher registers m and returns its handle; removeMatcher must
// follow when the queries using it are done.
func addMatcher(m fallibleMatcher) int64 {
	h := matchers.next.Add(1)
	matchers.Lock()
	if matchers.m == nil {
		matchers.m = make(map[int64]fallibleMatcher)
	}
	matchers.m[h] = m
	matchers.Unlock()
	return h
}

func removeMatcher(h int64) {
	matchers.Lock()
	delete(matchers.m, h)
	matchers.Unlock()
}

func sqlMatch(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("bodytap_match: %d arguments", len(args))
	}
	h, ok := args[0].(int64)
	if !ok {
		return nil, fmt.Errorf("bodytap_match: bad handle %v", args[0])
	}
	matchers.RLock()
	m := matchers.m[h]
	matchers.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("bodytap_match: unknown handle %d", h)
	}
	ok, err := m(args[1:])
	switch {
	case err != nil:
		return nil, err
	case ok:
		return int64(1), nil
	}
	return int64(0), nil
}

// A rawStmt is a statement of the writer's connection that runs through
// the driver itself: database/sql checks and converts each argument and
// allocates on every call, which for the 21 of an insert cost the writer
// about a microsecond per exchange.
type rawStmt struct {
	conn *sql.Conn
	st   driver.Stmt
}

func prepareRaw(ctx context.Context, conn *sql.Conn, query string) (*rawStmt, error) {
	r := &rawStmt{conn: conn}
	err := conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		st, err := pc.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		if _, ok := st.(driver.StmtExecContext); !ok {
			st.Close()
			return fmt.Errorf("driver statement %T cannot run with a context", st)
		}
		r.st = st
		return nil
	})
	return r, err
}

// exec runs the statement with args and returns how many rows it
// changed.
func (r *rawStmt) exec(ctx context.Context, args []driver.NamedValue) (n int64, err error) {
	err = r.conn.Raw(func(any) error {
		res, err := r.st.(driver.StmtExecContext).ExecContext(ctx, args)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

func (r *rawStmt) close() error {
	if r == nil || r.st == nil {
		return nil
	}
	return r.conn.Raw(func(any) error { return r.st.Close() })
}
