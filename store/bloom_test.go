package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// TestBloomGrams: the trigrams of a search are those of its required
// literals, ASCII case folded, and a filter holding a text has them all.
func TestBloomGrams(t *testing.T) {
	text := []byte(`{"name": "Widget-42", "price": 9.99}`)
	filters := map[int64][]byte{hashThree: make([]byte, bloomBytes), hashWord: make([]byte, bloomBytes)}
	bloomAddThree(filters[hashThree], text)
	bloomAdd(filters[hashWord], text)
	tests := []struct {
		re   string
		want bool // the filter may hold it
	}{
		{`Widget`, true},
		{`(?i)widget-4`, true},
		{`"price": 9\.9`, true},
		{`name.*price`, true},
		{`gadget`, false},
		{`Widget-43`, false},
		{`(?i)nothingmatch`, false},
		{`(?i)nothingmatches`, false}, // s folds to ſ too: "nothingmatche"
		{`(?i)PRICE": 9`, true},
		{`(?i)name.*PRICE`, true},
		{`(?i)gadgets`, false},
		{`x+`, true}, // no trigram: every chunk is read
	}
	for hash, f := range filters {
		for _, tt := range tests {
			grams := bloomGrams(regexp.MustCompile(tt.re))
			if got := bloomHas(f, hash, grams); got != tt.want {
				t.Errorf("hash %d, %q: bloomHas %v, want %v (grams %x)", hash, tt.re, got, tt.want, grams)
			}
		}
	}
}

// bloomAddThree adds the trigrams of p to the hashThree filter f, as the
// writers of version 2 and 3 files did.
func bloomAddThree(f []byte, p []byte) {
	if len(p) < 3 {
		return
	}
	_ = f[bloomBytes-1]
	g := uint32(lower[p[0]])<<8 | uint32(lower[p[1]])
	for _, c := range p[2:] {
		g = (g<<8 | uint32(lower[c])) & 0xFFFFFF
		a, b, d := bloomPositions(g)
		f[a>>3] |= 1 << (a & 7)
		f[b>>3] |= 1 << (b & 7)
		f[d>>3] |= 1 << (d & 7)
	}
}

// TestMigrateV3: a store of version 3 is read as it is (its log
// included) when opened read-only; opened read-write, the filters of the
// hash its writer used still let body searches skip chunks, next to the
// filters the writer builds after.
func TestMigrateV3(t *testing.T) {
	defer smallChunks(4)()
	s, path := openTest(t, Options{})
	old := fill(t, s, newGen(1), 200)
	s.Close()
	chunks := downgradeToV3(t, path)

	ro := openAt(t, path, Options{ReadOnly: true})
	checkFilters(t, ro, old, true)
	checkAll(t, ro, old)
	ro.Close()

	s = openUpgraded(t, path)
	var dropped int
	s.rdb.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name IN ('exchanges_duration', 'exchanges_size')").Scan(&dropped)
	if dropped != 0 {
		t.Errorf("%d of the indexes on duration and size left after the upgrade, want none", dropped)
	}
	g := newGen(2)
	for range 100 {
		s.Record(g.next())
	}
	flush(t, s)
	all := scanAll(t, s, 300)
	hashes := map[int64]int{}
	rows, err := s.rdb.Query("SELECT hash FROM blooms")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h int64
		rows.Scan(&h)
		hashes[h]++
	}
	rows.Close()
	if hashes[hashThree] != len(chunks) || hashes[hashWord] == 0 {
		t.Errorf("filters by hash: %v; want %d of hash %d, some of hash %d", hashes, len(chunks), hashThree, hashWord)
	}
	tx, skip := skippedForNothing(t, s)
	defer tx.Rollback()
	var oldSkipped, readAlways int
	tx.QueryRow("SELECT count(*) FROM blooms WHERE unindexed != 0 AND hash = 0").Scan(&readAlways)
	for _, c := range skip {
		if slices.Contains(chunks, c) {
			oldSkipped++
		}
	}
	if oldSkipped != len(chunks)-readAlways {
		t.Errorf("a search for a word in no body skips %d of the %d old chunks (%d with unindexed bodies)", oldSkipped, len(chunks), readAlways)
	}
	checkFilters(t, s, all, true)
}

// skippedForNothing returns the chunks a body search for a word in no
// body skips, and the read transaction that found them.
func skippedForNothing(t *testing.T, s *Store) (*sql.Tx, []int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	skip, err := skippedChunks(ctx, tx, bloomGrams(regexp.MustCompile("nothingmatches")), bloomReqUnindexed|bloomRespUnindexed)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	return tx, skip
}

// TestSkipIndex: a body search for a word no body holds skips every
// sealed chunk, and one for a word some do finds them all.
func TestSkipIndex(t *testing.T) {
	defer smallChunks(4)()
	s, _ := openTest(t, Options{})
	all := fill(t, s, newGen(1), 200)
	ctx := context.Background()
	var chunks int64
	if err := s.rdb.QueryRow("SELECT count(*) FROM blooms").Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if want := int64(200 / 16); chunks < want-1 {
		t.Fatalf("%d chunks have a filter, want %d", chunks, want)
	}
	tx, skip := skippedForNothing(t, s)
	defer tx.Rollback()
	// Chunks with a binary or compressed body are read whatever the
	// search; the generator makes some.
	var readAlways int64
	tx.QueryRow("SELECT count(*) FROM blooms WHERE unindexed != 0").Scan(&readAlways)
	if int64(len(skip)) != chunks-readAlways {
		t.Errorf("a search for a word in no body skips %d chunks of %d (%d with unindexed bodies)", len(skip), chunks, readAlways)
	}
	for _, expr := range []string{"~b nothingmatches", "~b e", "~bq abc", "~bs json"} {
		f, err := filter.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.List(ctx, Query{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		if w := want(all, f); len(got) != len(w) {
			t.Errorf("%s: %d matches, want %d", expr, len(got), len(w))
		}
	}
}

// TestMigrateV1: a store of version 1 (with its full-text index, as the
// release before wrote it) is read as it is when opened read-only, and
// converted when opened read-write; the skip index of its exchanges is
// built behind the writer.
func TestMigrateV1(t *testing.T) {
	defer smallChunks(4)()
	s, path := openTest(t, Options{})
	all := fill(t, s, newGen(1), 300)
	s.Close()
	// Back to version 1.
	downgradeToV2(t, path)
	db := openRaw(t, path)
	_, err := db.Exec(`
DROP TABLE blooms;
DROP TRIGGER exchanges_delete;
CREATE VIRTUAL TABLE bodies_fts USING fts5(
	body, content='', contentless_delete=1, detail=none, tokenize='trigram');
CREATE TRIGGER exchanges_delete AFTER DELETE ON exchanges BEGIN
	DELETE FROM bodies WHERE rid = old.rid;
	DELETE FROM bodies_fts WHERE rowid = old.rid;
END;
DELETE FROM state WHERE key IN ('bloom', 'chunk_shift');
INSERT INTO state(key, value) VALUES ('fts', 0);
PRAGMA user_version = 1;`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	ro := openAt(t, path, Options{ReadOnly: true})
	checkFilters(t, ro, all, true)
	ro.Close()

	s = openUpgraded(t, path)
	checkFilters(t, s, all, true)
	buildAll(t, s)
	var chunks int64
	s.rdb.QueryRow("SELECT count(*) FROM blooms").Scan(&chunks)
	if chunks < 300/16-1 {
		t.Errorf("%d chunks have a filter after building, want %d", chunks, 300/16)
	}
	checkFilters(t, s, all, true)
}

// downgradeToV3 turns the store at path into one of version 3, as the
// release before the filters' new hash wrote it: the filters made again
// with the old hash from the same bodies. It returns their chunks.
func downgradeToV3(t *testing.T, path string) []int64 {
	t.Helper()
	downgradeToV4(t, path)
	abs, _ := filepath.Abs(path)
	lr := newLogReader(logDir(abs))
	defer lr.close()
	db := openRaw(t, path)
	defer db.Close()
	var shift int64
	if err := db.QueryRow("SELECT value FROM state WHERE key = 'chunk_shift'").Scan(&shift); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT chunk FROM blooms")
	if err != nil {
		t.Fatal(err)
	}
	var chunks []int64
	for rows.Next() {
		var c int64
		rows.Scan(&c)
		chunks = append(chunks, c)
	}
	rows.Close()
	for _, c := range chunks {
		bits := make([]byte, bloomBytes)
		rs, err := db.Query("SELECT loc, flags FROM exchanges WHERE rid >> ? = ?", shift, c)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var loc, flags int64
			rs.Scan(&loc, &flags)
			rec, err := lr.record(loc)
			if err != nil {
				t.Fatal(err)
			}
			if flags&flagReqUnindexed == 0 {
				bloomAddThree(bits, rec.req)
			}
			if flags&flagRespUnindexed == 0 {
				bloomAddThree(bits, rec.resp)
			}
		}
		rs.Close()
		if _, err := db.Exec("UPDATE blooms SET bits = ? WHERE chunk = ?", bits, c); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.Exec(`
ALTER TABLE blooms DROP COLUMN hash;
CREATE INDEX exchanges_duration ON exchanges(seg, duration);
CREATE INDEX exchanges_size ON exchanges(seg, max(req_size, resp_size));
PRAGMA user_version = 3;`)
	if err != nil {
		t.Fatal(err)
	}
	return chunks
}

// downgradeToV4 turns the store at path into one of version 4, as the
// release before the writer gave the rids itself wrote it: AUTOINCREMENT
// on exchanges.rid, the last rid given in sqlite_sequence, the indexes
// on method, domain, status, ctype, route and error, no keys of chunks.
func downgradeToV4(t *testing.T, path string) {
	t.Helper()
	db := openRaw(t, path)
	defer db.Close()
	var last, cookie int64
	if err := db.QueryRow("SELECT value FROM state WHERE key = 'rid'").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA schema_version").Scan(&cookie); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(fmt.Sprintf(`
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'INTEGER PRIMARY KEY', 'INTEGER PRIMARY KEY AUTOINCREMENT')
	WHERE type = 'table' AND name = 'exchanges';
PRAGMA schema_version = %d;
PRAGMA writable_schema = OFF;`, cookie+1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`
INSERT INTO sqlite_sequence(name, seq) VALUES ('exchanges', ?);
DELETE FROM state WHERE key = 'rid';
DROP TABLE chunk_keys;
DROP TABLE chunk_pairs;
CREATE INDEX exchanges_method ON exchanges(method, id);
CREATE INDEX exchanges_domain ON exchanges(domain, id);
CREATE INDEX exchanges_status ON exchanges(status, id);
CREATE INDEX exchanges_ctype ON exchanges(ctype, id);
CREATE INDEX exchanges_route ON exchanges(route, id) WHERE route != '';
CREATE INDEX exchanges_error ON exchanges(id) WHERE error != '';
PRAGMA user_version = 4;`, last)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check after the downgrade: %q, %v", check, err)
	}
}

// TestMigrateV4: a store of version 4 (AUTOINCREMENT, the last rid in
// sqlite_sequence) is read as it is when opened read-only; opened
// read-write it loses AUTOINCREMENT without a copy of its rows, keeps
// its exchanges, filters and searches, and never gives again a rid it
// gave before, even one whose exchange retention deleted.
func TestMigrateV4(t *testing.T) {
	defer smallChunks(4)()
	s, path := openTest(t, Options{})
	old := fill(t, s, newGen(1), 200)
	s.Close()
	// The newest exchanges deleted: their rids are not to come again.
	db := openRaw(t, path)
	var top int64
	if err := db.QueryRow("SELECT max(rid) FROM exchanges").Scan(&top); err != nil {
		t.Fatal(err)
	}
	deleted := map[bodytap.ID]bool{}
	rows, err := db.Query("SELECT id FROM exchanges WHERE rid > ?", top-10)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id []byte
		rows.Scan(&id)
		deleted[bodytap.ID(id)] = true
	}
	rows.Close()
	if _, err := db.Exec("DELETE FROM exchanges WHERE rid > ?; UPDATE state SET value = value - 10 WHERE key = 'count'", top-10); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var kept []*bodytap.Exchange
	for _, x := range old {
		if !deleted[x.ID] {
			kept = append(kept, x)
		}
	}
	if len(kept) != len(old)-10 {
		t.Fatalf("kept %d of %d", len(kept), len(old))
	}
	downgradeToV4(t, path)

	ro := openAt(t, path, Options{ReadOnly: true})
	checkFilters(t, ro, kept, true)
	checkAll(t, ro, kept)
	ro.Close()

	s = openUpgraded(t, path)
	var def string
	var seqs int
	s.rdb.QueryRow("SELECT sql FROM sqlite_schema WHERE name = 'exchanges'").Scan(&def)
	s.rdb.QueryRow("SELECT count(*) FROM sqlite_sequence").Scan(&seqs)
	if strings.Contains(def, "AUTOINCREMENT") || seqs != 0 {
		t.Errorf("after the upgrade: %d rows in sqlite_sequence, table %s; want none and no AUTOINCREMENT", seqs, def)
	}
	checkAll(t, s, kept)
	g := newGen(2)
	var added []*bodytap.Exchange
	for range 100 {
		x := g.next()
		added = append(added, x)
		s.Record(x)
	}
	flush(t, s)
	var low int64
	if err := s.rdb.QueryRow("SELECT min(rid) FROM exchanges WHERE rid > ?", top-10).Scan(&low); err != nil {
		t.Fatal(err)
	}
	if low <= top {
		t.Errorf("a new exchange got rid %d, given before the upgrade (up to %d)", low, top)
	}
	all := append(kept, added...)
	slices.SortFunc(all, func(a, b *bodytap.Exchange) int { return bytes.Compare(b.ID[:], a.ID[:]) })
	checkAll(t, s, all)
	buildAll(t, s)
	checkFilters(t, s, all, true)
	checkIntegrity(t, s)
	s.Close()

	// And it stays so across a reopen.
	s = openAt(t, path, Options{})
	x := g.next()
	s.Record(x)
	flush(t, s)
	var rid int64
	if err := s.rdb.QueryRow("SELECT rid FROM exchanges WHERE id = ?", x.ID[:]).Scan(&rid); err != nil {
		t.Fatal(err)
	}
	if rid <= top+100 {
		t.Errorf("after a reopen a new exchange got rid %d, want past %d", rid, top+100)
	}
	all = append(all, x)
	slices.SortFunc(all, func(a, b *bodytap.Exchange) int { return bytes.Compare(b.ID[:], a.ID[:]) })
	checkAll(t, s, all)
	s.Close()
}

// downgradeToV2 turns the store at path into one of version 2, as the
// release before the log wrote it: every exchange's stored form in
// bodies, no log.
func downgradeToV2(t *testing.T, path string) {
	t.Helper()
	downgradeToV3(t, path)
	db := openRaw(t, path)
	defer db.Close()
	abs, _ := filepath.Abs(path)
	lr := newLogReader(logDir(abs))
	defer lr.close()
	rows, err := db.Query("SELECT rid, loc FROM exchanges WHERE loc IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	type body struct {
		rid int64
		rec record
	}
	var bodies []body
	for rows.Next() {
		var rid, loc int64
		if err := rows.Scan(&rid, &loc); err != nil {
			t.Fatal(err)
		}
		rec, err := lr.record(loc)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body{rid, rec})
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		if _, err := db.Exec("INSERT INTO bodies(rid, meta, shape, req, resp, raw) VALUES (?, ?, ?, ?, ?, ?)",
			b.rid, b.rec.meta, b.rec.shape, b.rec.req, b.rec.resp, b.rec.raw); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.Exec(`
ALTER TABLE exchanges DROP COLUMN loc;
DELETE FROM state WHERE key IN ('log_file', 'log_end', 'log_rid');
PRAGMA user_version = 2;`)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(logDir(abs)); err != nil {
		t.Fatal(err)
	}
}

// openUpgraded opens the store at path read-write, which brings its
// schema up to date.
func openUpgraded(t *testing.T, path string) *Store {
	t.Helper()
	s := openAt(t, path, Options{})
	var version int
	s.rdb.QueryRow("PRAGMA user_version").Scan(&version)
	if version != schemaVersion {
		t.Fatalf("user_version %d after opening read-write, want %d", version, schemaVersion)
	}
	return s
}

// openRaw opens the database file at path with no pragmas.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector{dsn(abs, false, nil)})
	db.SetMaxOpenConns(1)
	return db
}

// TestMigrateV2: a store of version 2 (every exchange's stored form in
// bodies, no log) is read as it is when opened read-only; opened
// read-write it keeps those rows where they are and writes new ones to
// the log, and reads, searches and retention cover both.
func TestMigrateV2(t *testing.T) {
	defer smallChunks(4)()
	s, path := openTest(t, Options{})
	old := fill(t, s, newGen(1), 200)
	s.Close()
	downgradeToV2(t, path)

	ro := openAt(t, path, Options{ReadOnly: true})
	checkFilters(t, ro, old, false)
	checkAll(t, ro, old)
	ro.Close()
	if _, err := os.Stat(path + "-log"); err == nil {
		t.Error("opening a version 2 file read-only made a log")
	}

	s = openUpgraded(t, path)
	g := newGen(2)
	var newer []*bodytap.Exchange
	for range 100 {
		x := g.next()
		x.Start = x.Start.Add(24 * time.Hour) // after the old ones
		x.ID = bodytap.NewID(x.Start)
		s.Record(x)
		newer = append(newer, x)
	}
	flush(t, s)
	for _, x := range newer {
		got, err := s.Get(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameExchange(t, x, got)
	}
	all := scanAll(t, s, 300)
	checkFilters(t, s, all, false)
	buildAll(t, s)
	checkFilters(t, s, all, true)
	s.Close()

	// Retention deletes the old rows with their bodies.
	s = openAt(t, path, Options{MaxCount: 50})
	s.Record(g.next())
	flush(t, s)
	checkIntegrity(t, s)
	var inBodies int
	s.rdb.QueryRow("SELECT count(*) FROM bodies").Scan(&inBodies)
	if inBodies != 0 {
		t.Errorf("%d rows left in bodies, want none", inBodies)
	}
	scanAll(t, s, 50)
}

// BenchmarkBloomAdd measures what adding 1 KiB of JSON to a filter costs
// the writer, for each hash.
func BenchmarkBloomAdd(b *testing.B) {
	p := templates(1, 1024)[0].Request.Body.Bytes
	for _, bc := range []struct {
		name string
		add  func(f, p []byte)
	}{{"hash=three", bloomAddThree}, {"hash=word", bloomAdd}} {
		b.Run(bc.name, func(b *testing.B) {
			f := make([]byte, bloomBytes)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				bc.add(f, p)
			}
		})
	}
}
