package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/pgtest"
)

// TestReplayMockPostgres runs replay and mock from a PostgreSQL store that
// 'bodytap proxy' wrote: the same results as from the local store.
func TestReplayMockPostgres(t *testing.T) {
	db := pgtest.DB(t)
	v2, v2URL, otherHits := replaySetup(t, db)
	checkReplay(t, db, v2, v2URL, otherHits, "--report", filepath.Join(t.TempDir(), "out.json"))

	// The mock answers as version 1 did: replay against it finds all the
	// same (what version 1 hangs on aside).
	m, stderr := startMock(t, "--db", db)
	r := bodytapCmd(t, nil, "replay", "--db", db, "--to", m, "~u /api | ~u /hello | ~u /go")
	if r.code != 0 || !strings.Contains(r.stdout, "4 same, 0 changed, 0 failed, 1 skipped, 1 not replayable") {
		t.Errorf("replay against 'mock --db %s': exit %d\n%s%s\nmock:\n%s", db, r.code, r.stdout, r.stderr, stderr.String())
	}
}
