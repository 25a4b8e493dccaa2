package pgstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrations turn a schema of version i (the row of schema_version) into
// one of version i+1. They only ever get appended to: a database whose
// version is past the end of this list is newer than this program, and
// is refused, never altered.
var migrations = []string{
	// Version 1.
	`
-- One row per exchange: what lists show and filters test. The table is
-- partitioned by day on the ID (a ULID: its first 48 bits are Start in
-- Unix milliseconds), so that the ID is the primary key, pages newest
-- first read the partitions' primary keys in order, and retention by age
-- drops whole partitions. Strings are kept valid UTF-8 without NUL
-- (flagLossy marks a row where that changed one); Content-Types are
-- arrays of the header's values.
CREATE TABLE exchanges (
	id        bytea   NOT NULL,
	start     bigint  NOT NULL,         -- Start, Unix nanoseconds
	method    text    COLLATE "C" NOT NULL,
	host      text    COLLATE "C" NOT NULL, -- Request.Host
	domain    text    COLLATE "C" NOT NULL, -- host without port, as ~d matches it
	path      text    COLLATE "C" NOT NULL, -- Request.URL.Path
	url       text    COLLATE "C" NOT NULL, -- Request.URL.String()
	remote    text    COLLATE "C" NOT NULL, -- Request.RemoteAddr
	status    integer NOT NULL,
	duration  bigint  NOT NULL,         -- nanoseconds
	ttfb      bigint  NOT NULL,         -- TimeToHeaders, nanoseconds
	req_size  bigint  NOT NULL,
	resp_size bigint  NOT NULL,
	ctype     text[]  COLLATE "C" NOT NULL, -- response Content-Types
	req_ctype text[]  COLLATE "C" NOT NULL, -- request Content-Types
	route     text    COLLATE "C" NOT NULL,
	error     text    COLLATE "C" NOT NULL, -- Exchange.Err text
	flags     integer NOT NULL,         -- flag* bits
	PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE INDEX exchanges_status ON exchanges (status, id);
CREATE INDEX exchanges_method ON exchanges (method, id);
CREATE INDEX exchanges_domain ON exchanges (domain, id);

-- What Get needs and lists never read, compressed by the writer (see
-- compress): the exchange's JSON form without body copies, and the
-- copies. Partitioned as exchanges is.
CREATE TABLE bodies (
	id    bytea  NOT NULL,
	meta  bytea  NOT NULL,
	shape bigint NOT NULL, -- exchrow.Shape bits
	req   bytea,           -- Request.Body.Bytes; NULL when empty
	resp  bytea,           -- Response.Body.Bytes; NULL when empty
	raw   bytea,           -- strings that are not UTF-8 (exchrow.Raw); NULL if none
	PRIMARY KEY (id)
) PARTITION BY RANGE (id);
-- Already compressed: TOAST need not try again.
ALTER TABLE bodies ALTER meta SET STORAGE EXTERNAL;
ALTER TABLE bodies ALTER req SET STORAGE EXTERNAL;
ALTER TABLE bodies ALTER resp SET STORAGE EXTERNAL;

-- The distinct values of the columns that filters match with regular
-- expressions, so that a filter becomes a list of values.
CREATE TABLE terms (
	kind  smallint NOT NULL, -- term* constants
	value text     COLLATE "C" NOT NULL,
	PRIMARY KEY (kind, value)
);
`,
	// Version 2.
	`
-- The transaction that wrote each row, so that a live tail can ask what
-- was committed between two snapshots, whatever order concurrent
-- writers' transactions commit in (see Subscribe). Rows of version 1
-- keep NULL: they are older than any tail. Set as a default rather than
-- with ADD COLUMN's DEFAULT, which would rewrite every partition.
ALTER TABLE exchanges ADD COLUMN xid xid8;
ALTER TABLE exchanges ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX exchanges_xid ON exchanges (xid);
`,
	// Version 3.
	`
-- The skip index of body searches (see bloom.go): for each chunk of
-- exchanges that a writer stored, the range of their IDs and a Bloom
-- filter of the trigrams of their bodies. Writers upsert their chunk's
-- row in the transaction of each batch.
CREATE TABLE blooms (
	key       bigint   NOT NULL, -- random, the writer's
	lo        bytea    NOT NULL, -- smallest ID of the chunk
	hi        bytea    NOT NULL, -- largest
	rows      integer  NOT NULL,
	unindexed smallint NOT NULL, -- bloom*Unindexed bits
	bits      bytea    NOT NULL, -- little-endian words, folded
	PRIMARY KEY (key)
);
-- The exchanges stored before: one chunk that every search reads, up to
-- the end of the day after tomorrow, so that what a writer of version 2
-- still running stores into the partitions it made ahead is in it too.
INSERT INTO blooms (key, lo, hi, rows, unindexed, bits)
	SELECT 0, '\x'::bytea,
		int8send((((extract(epoch FROM now())::bigint / 86400 + 3) * 86400000) << 16)) || '\x0000000000000000'::bytea,
		0, 3, '\x'::bytea
	WHERE EXISTS (SELECT 1 FROM exchanges);

-- How many exchanges each day holds, as deltas that each writer (key)
-- adds in the transactions that store and delete rows, so that counting
-- the whole store reads a few rows instead of every exchange. A writer
-- adds to rows of its own key: writers do not wait for each other's
-- locks. Retention deletes a day's rows when it drops the day.
CREATE FUNCTION bodytap_day(id bytea) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT ('x' || encode(substring(id FROM 1 FOR 6), 'hex'))::bit(48)::bigint / 86400000 $$;
CREATE TABLE counts (
	day bigint NOT NULL, -- days since the Unix epoch, UTC
	key bigint NOT NULL,
	n   bigint NOT NULL,
	PRIMARY KEY (day, key)
);
INSERT INTO counts (day, key, n) SELECT bodytap_day(id), 0, count(*) FROM exchanges GROUP BY 1;
`,
	// Version 4.
	`
-- The keys of each chunk of the skip index (see chunkKeys): its
-- distinct methods, domains and statuses, which filters on them read
-- instead of B-trees on exchanges that every write had to update. NULL,
-- as in the chunks made before, means unknown: a candidate for every
-- value (so a writer of version 3 still running stays correct).
ALTER TABLE blooms ADD COLUMN methods text[] COLLATE "C";
ALTER TABLE blooms ADD COLUMN domains text[] COLLATE "C";
ALTER TABLE blooms ADD COLUMN statuses integer[];
-- Filters read the chunks newest first, a window at a time (chunkWalk).
CREATE INDEX blooms_hi ON blooms (hi);
DROP INDEX exchanges_status, exchanges_method, exchanges_domain;
`,
}

// schemaVersion is the version this program writes and reads.
var schemaVersion = len(migrations)

// migrateLock is the key of the advisory lock that serializes migrations
// and the creation of partitions among the processes sharing a database.
const migrateLock = 0x62746170 // "btap"

// Bits of exchanges.flags.
const (
	flagHijacked      = 1 << 0
	flagReqTruncated  = 1 << 1
	flagRespTruncated = 1 << 2
	flagReqRedacted   = 1 << 3
	flagRespRedacted  = 1 << 4
	flagReqWithheld   = 1 << 5
	flagRespWithheld  = 1 << 6
	flagAsset         = 1 << 7 // what Filter.Match said of ~a when recorded
	flagWebsocket     = 1 << 8 // and of ~websocket
	flagError         = 1 << 9 // Exchange.Err != nil
	// A string column differs from the exchange's string (not valid
	// UTF-8, or a NUL): conditions on strings cannot decide the row. It
	// stays the highest bit: queries test it as flags >= flagLossy.
	flagLossy = 1 << 10
)

// Kinds of terms.
const (
	termMethod = iota
	termDomain
	termRoute
	termCtype
	termReqCtype
	numTermKinds
)

// migrate brings the schema up to date in one transaction, or reads its
// version when readOnly; either way a schema newer than this program's is
// refused.
func migrate(ctx context.Context, conn *pgx.Conn, readOnly bool) error {
	if readOnly {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_version') IS NOT NULL").Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNoSchema
		}
		v, err := readVersion(ctx, conn)
		if err != nil {
			return err
		}
		if err := checkVersion(v); err != nil {
			return err
		}
		if v < schemaVersion {
			return fmt.Errorf("schema version %d is older than this program's (%d): open it once read-write (proxy, collect) to upgrade it", v, schemaVersion)
		}
		return nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('schema_version') IS NOT NULL").Scan(&exists); err != nil {
		return err
	}
	v := 0
	if exists {
		if v, err = readVersion(ctx, tx); err != nil {
			return err
		}
		if err := checkVersion(v); err != nil {
			return err
		}
		if v == schemaVersion {
			return nil
		}
	} else if _, err := tx.Exec(ctx, "CREATE TABLE schema_version (version integer NOT NULL)"); err != nil {
		return err
	}
	for i, m := range migrations[v:] {
		if _, err := tx.Exec(ctx, m); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM schema_version"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", schemaVersion); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func readVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, err
}

// ErrNoSchema is wrapped by the error of Open for a read-only store on
// a database that no bodytap has written yet (or that is not a store): a
// reader started before the first writer may wait for one.
var ErrNoSchema = errors.New("not a bodytap store (no schema_version table)")

// ErrNewerSchema is wrapped by the error of Open for a database whose
// schema a newer bodytap made.
var ErrNewerSchema = errors.New("pgstore: schema is newer than this program")

func checkVersion(v int) error {
	if v > schemaVersion {
		return fmt.Errorf("%w: version %d, this program knows up to %d: use a newer bodytap (the database was not changed)", ErrNewerSchema, v, schemaVersion)
	}
	return nil
}

const dayMillis = 24 * 60 * 60 * 1000

// idAt returns the smallest ID of the millisecond ms.
func idAt(ms int64) []byte {
	var id [16]byte
	binary.BigEndian.PutUint64(id[0:8], uint64(max(ms, 0))<<16)
	return id[:]
}

// idDay returns the day (since the Unix epoch, UTC) of the time in id.
func idDay(id []byte) int64 {
	return int64(binary.BigEndian.Uint64(id[0:8])>>16) / dayMillis
}

// partitionName returns the suffix of the partitions of day: _dYYYYMMDD.
func partitionName(day int64) string {
	return "_d" + time.UnixMilli(day*dayMillis).UTC().Format("20060102")
}

// partitionDay parses what partitionName made of a table name.
func partitionDay(table string) (int64, bool) {
	i := strings.LastIndex(table, "_d")
	if i < 0 {
		return 0, false
	}
	t, err := time.Parse("20060102", table[i+2:])
	if err != nil {
		return 0, false
	}
	return t.UnixMilli() / dayMillis, true
}

// createPartitions creates the partitions of exchanges and bodies for the
// days, those that do not exist yet, in one transaction.
func createPartitions(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, days []int64) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
		return err
	}
	for _, day := range days {
		lo := `'\x` + hex.EncodeToString(idAt(day*dayMillis)) + `'::bytea`
		hi := `'\x` + hex.EncodeToString(idAt((day+1)*dayMillis)) + `'::bytea`
		for _, t := range []string{"exchanges", "bodies"} {
			q := "CREATE TABLE IF NOT EXISTS " + t + partitionName(day) + " PARTITION OF " + t +
				" FOR VALUES FROM (" + lo + ") TO (" + hi + ")"
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("create partition of day %s: %w", partitionName(day)[2:], err)
			}
		}
	}
	return tx.Commit(ctx)
}

// partitions returns the days of the partitions of exchanges, oldest
// first.
func partitions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'exchanges'::regclass ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var days []int64
	for _, n := range names {
		if d, ok := partitionDay(n); ok {
			days = append(days, d)
		}
	}
	return days, nil
}
