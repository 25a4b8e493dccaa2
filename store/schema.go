package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// applicationID marks a SQLite file as a bodytap store (PRAGMA
// application_id): "btap".
const applicationID = 0x62746170

// migrations turn a schema of version i (PRAGMA user_version) into one of
// version i+1. They only ever get appended to: a file records how many it
// has had, and a file that has had more than this program knows is newer
// than it and is not opened.
var migrations = []string{
	// Version 1.
	`
CREATE TABLE exchanges (
	rid       INTEGER PRIMARY KEY AUTOINCREMENT, -- commit order, never reused
	id        BLOB    NOT NULL UNIQUE,   -- the 16-byte ULID: sorts by time
	start     INTEGER NOT NULL,          -- Start, Unix nanoseconds
	method    TEXT    NOT NULL,
	host      TEXT    NOT NULL,          -- Request.Host
	domain    TEXT    NOT NULL,          -- host without port, as ~d matches it
	path      TEXT    NOT NULL,          -- Request.URL.Path
	url       TEXT    NOT NULL,          -- Request.URL.String()
	remote    TEXT    NOT NULL,          -- Request.RemoteAddr
	status    INTEGER NOT NULL,
	duration  INTEGER NOT NULL,          -- nanoseconds
	ttfb      INTEGER NOT NULL,          -- TimeToHeaders, nanoseconds
	req_size  INTEGER NOT NULL,          -- Request.Body.Size
	resp_size INTEGER NOT NULL,          -- Response.Body.Size
	ctype     TEXT    NOT NULL,          -- response Content-Types (encodeList)
	req_ctype TEXT    NOT NULL,          -- request Content-Types (encodeList)
	route     TEXT    NOT NULL,
	error     TEXT    NOT NULL,          -- Exchange.Err text, '' for none
	flags     INTEGER NOT NULL,          -- flag* bits
	seg       INTEGER NOT NULL           -- rid >> segShift
);
CREATE INDEX exchanges_method ON exchanges(method, id);
CREATE INDEX exchanges_domain ON exchanges(domain, id);
-- Columns whose values come in no order lead with seg, so that inserts
-- touch only the newest segment's part of their index; a query looks in
-- each segment.
CREATE INDEX exchanges_path ON exchanges(seg, path);
CREATE INDEX exchanges_status ON exchanges(status, id);
CREATE INDEX exchanges_duration ON exchanges(seg, duration);
CREATE INDEX exchanges_size ON exchanges(seg, max(req_size, resp_size));
CREATE INDEX exchanges_ctype ON exchanges(ctype, id);
CREATE INDEX exchanges_route ON exchanges(route, id) WHERE route != '';
CREATE INDEX exchanges_error ON exchanges(id) WHERE error != '';

-- What Get needs and List never reads: the exchange in its JSON form
-- (bodies left out), and the two body copies.
CREATE TABLE bodies (
	rid   INTEGER PRIMARY KEY,  -- exchanges.rid
	meta  BLOB    NOT NULL,     -- JSON form of the exchange without body bytes
	shape INTEGER NOT NULL,     -- shape* bits: empty but not nil maps and slices
	req   BLOB,                 -- Request.Body.Bytes; NULL when empty
	resp  BLOB,                 -- Response.Body.Bytes; NULL when empty
	raw   BLOB                  -- strings that are not UTF-8 (gob); NULL if none
);

-- Trigrams of the bodies that are text, indexed behind the writer (see
-- state 'fts'), for body searches.
CREATE VIRTUAL TABLE bodies_fts USING fts5(
	body, content='', contentless_delete=1, detail=none, tokenize='trigram');

CREATE TRIGGER exchanges_delete AFTER DELETE ON exchanges BEGIN
	DELETE FROM bodies WHERE rid = old.rid;
	DELETE FROM bodies_fts WHERE rowid = old.rid;
END;

-- The distinct values of the columns that filters match with regular
-- expressions, so that a filter can turn into an indexed IN list.
CREATE TABLE terms (
	kind  INTEGER NOT NULL,     -- term* constants
	value TEXT    NOT NULL,
	PRIMARY KEY (kind, value)
) WITHOUT ROWID;

CREATE TABLE state (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state(key, value) VALUES
	('count', 0),       -- rows in exchanges
	('fts', 0),         -- every rid up to this one is in bodies_fts, if text
	('terms_full', 0);  -- bit 1<<kind: terms of that kind are no longer kept
`,
	// Version 2: a skip index per chunk of exchanges replaces the
	// full-text index (see bloom.go).
	`
DROP TRIGGER exchanges_delete;
DROP TABLE bodies_fts;
CREATE TRIGGER exchanges_delete AFTER DELETE ON exchanges BEGIN
	DELETE FROM bodies WHERE rid = old.rid;
END;

-- The Bloom filter of the trigrams of the bodies of each chunk of
-- exchanges (rid >> chunk_shift) that the writer has sealed.
CREATE TABLE blooms (
	chunk     INTEGER PRIMARY KEY,
	unindexed INTEGER NOT NULL, -- bloom*Unindexed bits
	bits      BLOB    NOT NULL
);

DELETE FROM state WHERE key = 'fts';
-- Every chunk before this one has its filter (or no exchanges).
INSERT INTO state(key, value) VALUES ('bloom', 0);
-- Chunks are of 1 << chunk_shift exchanges.
INSERT INTO state(key, value) VALUES ('chunk_shift', 12);
`,
	// Version 3: the stored form of new exchanges goes to the log (see
	// seglog.go); bodies keeps that of the exchanges stored before.
	`
ALTER TABLE exchanges ADD COLUMN loc INTEGER; -- where the log holds it (makeLoc); NULL: in bodies
INSERT INTO state(key, value) VALUES
	('log_file', 1), -- the end of the log that the rows reference:
	('log_end', 0),  -- segment file and offset (0: not begun)
	-- The first rid that may have a loc.
	('log_rid', coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'exchanges'), 0) + 1);
`,
	// Version 4: filters of another hash, cheaper to build (see
	// bloom.go); those stored before keep theirs. No index on duration
	// or size: they cost each insert about a tenth of the writer's time
	// (BenchmarkIngest), and served only filters on those (~dur, ~size)
	// that match few exchanges, which now read the rows newest first.
	`
ALTER TABLE blooms ADD COLUMN hash INTEGER NOT NULL DEFAULT 0; -- hash* constants
DROP INDEX exchanges_duration;
DROP INDEX exchanges_size;
`,
	// Version 5: the writer gives the rids and keeps the last one in
	// state 'rid' (never reused), so exchanges loses AUTOINCREMENT (see
	// dropAutoincrement), which cost each insert a write of
	// sqlite_sequence; and six indexes go (see keys.go).
	`
INSERT INTO state(key, value) VALUES
	('rid', coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'exchanges'), 0));
DELETE FROM sqlite_sequence WHERE name = 'exchanges';

-- The columns that many exchanges share a value of lose their indexes
-- to a skip index of keys per chunk (see keys.go), which the writer
-- builds for the chunks stored before when it opens the file.
DROP INDEX exchanges_method;
DROP INDEX exchanges_domain;
DROP INDEX exchanges_status;
DROP INDEX exchanges_ctype;
DROP INDEX exchanges_route;
DROP INDEX exchanges_error;
CREATE TABLE chunk_keys (
	chunk INTEGER PRIMARY KEY, -- rid >> chunk_shift
	bits  BLOB    NOT NULL     -- keysBytes
);
CREATE TABLE chunk_pairs (
	chunk INTEGER PRIMARY KEY, -- rid >> chunk_shift
	bits  BLOB    NOT NULL     -- pairsBytes
);
`,
}

// ridVersion is the schema version from which state 'rid' keeps the last
// rid given; keysVersion the one that has chunk_keys.
const (
	ridVersion  = 5
	keysVersion = 5
)

// logVersion is the schema version that put exchanges in the log.
const logVersion = 3

// schemaVersion is the version this program writes and reads.
var schemaVersion = len(migrations)

// Bits of exchanges.flags.
const (
	flagHijacked      = 1 << 0
	flagReqTruncated  = 1 << 1
	flagRespTruncated = 1 << 2
	flagReqRedacted   = 1 << 3
	flagRespRedacted  = 1 << 4
	// The body's copy is not (all) in bodies_fts: binary, still
	// compressed, or longer than maxIndexBytes. Searches must read it.
	flagReqUnindexed  = 1 << 5
	flagRespUnindexed = 1 << 6
	flagReqWithheld   = 1 << 7
	flagRespWithheld  = 1 << 8
	// What Filter.Match said of ~a and ~websocket when the exchange
	// was recorded.
	flagAsset     = 1 << 9
	flagWebsocket = 1 << 10
)

// segShift makes segments of exchanges by rid: 16384 rows each. An index
// that leads with the segment takes inserts in a small part of itself,
// which stays in the cache and costs few pages to write, however random
// the values it indexes; a query seeks it once per segment.
const segShift = 14

// Kinds of terms: the exchanges columns method, domain, route, ctype and
// req_ctype.
const (
	termMethod = iota
	termDomain
	termRoute
	termCtype
	termReqCtype
	numTermKinds
)

// maxTerms is how many distinct values of one kind terms keeps. Past it,
// filters on that column match each row's value instead.
const maxTerms = 4096

// migrate brings the schema of the database behind conn up to date, in one
// transaction.
func migrate(ctx context.Context, conn *sql.Conn) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	version, app, err := readVersion(ctx, conn)
	if err != nil {
		return err
	}
	if err := checkVersion(ctx, conn, version, app); err != nil {
		return err
	}
	if version == schemaVersion {
		_, err = conn.ExecContext(ctx, "COMMIT")
		return err
	}
	for i, m := range migrations[version:] {
		if _, err := conn.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migrate schema: %w", err)
		}
		if version+i+1 == ridVersion {
			if err := dropAutoincrement(ctx, conn); err != nil {
				return fmt.Errorf("migrate schema: %w", err)
			}
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

func readVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (version, app int, err error) {
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, 0, err
	}
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return 0, 0, err
	}
	return version, app, nil
}

// checkVersion says whether a database of this version and application ID
// can be used: a bodytap store this program knows, or (version 0) an empty
// database.
func checkVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, version, app int) error {
	switch {
	case version > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this program knows (%d): use a newer bodytap", version, schemaVersion)
	case version > 0 && app != applicationID:
		return fmt.Errorf("not a bodytap store (application_id %#x)", app)
	case version == 0:
		var n int
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("not a bodytap store (a SQLite database with other tables)")
		}
	}
	return nil
}

// dropAutoincrement takes AUTOINCREMENT off exchanges.rid. The keyword
// changes nothing in the table's pages, only whether inserts keep
// sqlite_sequence, so the table's definition is edited in place, as
// SQLite's documentation describes for changes that leave the content
// as it is (https://www.sqlite.org/lang_altertable.html, "Making Other
// Kinds Of Table Schema Changes"), instead of copying every row to a
// new table. It runs in the migration's transaction.
func dropAutoincrement(ctx context.Context, conn *sql.Conn) error {
	var cookie int64
	if err := conn.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&cookie); err != nil {
		return err
	}
	for _, q := range []string{
		"PRAGMA writable_schema = ON",
		`UPDATE sqlite_schema SET sql = replace(sql, 'INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER PRIMARY KEY')
			WHERE type = 'table' AND name = 'exchanges'`,
		fmt.Sprintf("PRAGMA schema_version = %d", cookie+1),
		"PRAGMA writable_schema = OFF",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("drop AUTOINCREMENT: %w", err)
		}
	}
	var def string
	if err := conn.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'exchanges'").Scan(&def); err != nil {
		return err
	}
	if strings.Contains(def, "AUTOINCREMENT") {
		return fmt.Errorf("drop AUTOINCREMENT: the table keeps it")
	}
	return nil
}
