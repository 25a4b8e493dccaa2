// Package pgstore keeps captured exchanges in PostgreSQL, a store that
// many proxies and collectors share: it is a bodytap.BatchSink and
// answers the queries of package store (store.Query, store.Summary) with
// List, ListPage, Count, Get and Scan, so that the CLI and the viewer can
// read either store.
//
//	s, err := pgstore.Open(ctx, "postgres://bodytap@db.internal/bodytap", pgstore.Options{MaxAge: 7 * 24 * time.Hour})
//	tap := bodytap.New(bodytap.Config{Sink: s})
//
// # Schema
//
// The schema has a version (the table schema_version); Open migrates an
// older one in a transaction under an advisory lock, and refuses one that
// a newer bodytap made (ErrNewerSchema) without changing anything.
// Exchanges and their bodies are in two tables partitioned by day on the
// ID, a ULID whose first 48 bits are its time: the ID is the primary key,
// unique across processes by construction (48 bits of time, 80 random),
// a page newest first reads the partitions' primary keys in order, and
// retention by age (Options.MaxAge) drops whole partitions. Writers make
// the partition of each day they write, and of the day after, ahead.
// Writers also keep how many exchanges each day holds (the table counts,
// deltas added in the transactions that store and delete rows), so that
// counting the whole store does not read every row.
//
// Upgrade with the writers of older versions stopped: the migration to
// version 3 counts and indexes (see below) what is stored, and a writer
// of version 2 still running would store exchanges that the counts miss
// (those of its body searches' skip index it makes up for until the end
// of the day after the upgrade). Version 4 drops the B-trees on status,
// method and domain (see Queries); writers of version 3 still running
// stay correct, their chunks a candidate for every filter.
//
// # Writing
//
// RecordBatch encodes and compresses in the caller's goroutine and COPYs
// a batch into both tables in one transaction. Bodies and the JSON form
// are compressed with S2 by the writer: PostgreSQL's TOAST compresses
// only rows over about 2 KiB, which leaves the common body of a few
// hundred bytes as it is (measured: none of 50,000 rows of 730-byte
// bodies compressed, toast_tuple_target=128 and lz4 notwithstanding).
//
// # Retention
//
// Options.MaxAge, MaxCount and MaxBytes keep the newest exchanges by ID,
// as the local store's options do, applied by a writer at most once a
// minute (one process at a time, under an advisory lock) and by Prune.
// Days wholly past a bound lose their partitions (DROP TABLE: no rows
// to delete, no bloat, disk freed at once); in the day a bound cuts, the
// older rows are deleted by ID range. MaxBytes counts the total relation
// size of the day partitions of both tables, indexes and TOAST included;
// a day it cuts is rewritten (VACUUM FULL), since deleted rows free no
// disk until then. Import stores exchanges read elsewhere in one
// transaction, skipping the IDs the store holds, as the local store's
// Import does.
//
// # Queries
//
// A filter compiles to two SQL conditions per node: where a row surely
// matches, and where it may. Flags, statuses, comparisons and the
// Content-Type, method, host and route matches are decided by SQL (the
// regular expressions run in Go on the distinct values, kept in terms,
// and become lists); the URL and client address matches are translated
// to PostgreSQL regular expressions (see pgRegexp), which SQL runs for a
// count and where the pattern needs no literal string, and pages
// otherwise narrow by the literal strings they need (strpos) and decide
// in Go from the row's columns, which costs less; other regular
// expressions are narrowed likewise and decided in Go. Only headers and
// bodies need the stored exchange. A row whose strings PostgreSQL cannot
// hold as they are (not UTF-8, NUL) is always decided in Go. Body
// searches read the candidates' bodies, and decode the rest of an
// exchange only when its bodies hold the words the search needs (see
// bodyNeeds). Pages read candidates newest first along the partitions'
// indexes on the ID; the planner, misled by the conditions on flags, is
// told not to sort.
//
// Body searches skip what they cannot match through a skip index, as the
// local store's do (schema version 3, see bloom.go): each writer keeps,
// for each chunk of up to 1,024 exchanges it stores, the range of their
// IDs and a Bloom filter of the trigrams of their bodies, upserted in
// the transaction of each batch; a search reads the filters and then
// only the ID ranges of the chunks that may hold the words it needs. A
// pg_trgm GIN index was measured instead and rejected: it made ingest 78
// times slower (50,000 730-byte bodies: 0.44 s without it, 34 s with it),
// too slow for a fleet's writers. Since schema version 4 the chunks also
// list their distinct methods, domains and statuses (up to 64 of each),
// and filters on those read only the ranges of the chunks that list a
// value they need, instead of B-trees on the three columns that every
// write updated: a rare value or one never seen reads a few chunks, a
// common one walks the primary key newest first as an unfiltered list.
//
// # Live tail
//
// Subscribe follows what every process writes. Each row records the
// transaction that wrote it (the column xid), and each write sends
// NOTIFY bodytap_exchanges at its commit. A subscription LISTENs on a
// connection of its own and, when notified, reads the rows that a
// snapshot taken now sees and its previous snapshot did not: exactly the
// rows committed in between, whatever order concurrent transactions
// commit in, so that a notification is only a wake-up and losing some
// (while reconnecting) loses no row.
//
// # While the database is away
//
// While the database is away (connections refused or lost, the server
// shutting down or starting up), RecordBatch writes each batch to a spool
// directory instead (Options.SpoolDir, SpoolMaxBytes; one file a batch,
// written whole and renamed) and returns, so that the Tap's queue keeps
// moving; a goroutine tries the database again with backoff (100 ms to
// 5 s) and writes the spool back oldest first, each batch in a transaction
// that copies it into temporary tables and inserts with ON CONFLICT DO
// NOTHING: a batch that was committed but whose acknowledgement was lost
// with the connection is not stored twice. Several processes may share a
// spool directory: each locks the file it replays. A spool that a process
// left when it stopped is replayed by the next store that opens it.
package pgstore
