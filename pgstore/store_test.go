package pgstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openTest opens a store on a new database and closes it at the end.
func openTest(tb testing.TB, opts Options) (*Store, string) {
	tb.Helper()
	u := pgtest.DB(tb)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := Open(context.Background(), u, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, u
}

func TestRoundTrip(t *testing.T) {
	s, _ := openTest(t, Options{})
	want := exchangetest.Full(t)
	want.ID = bodytap.NewID(want.Start)
	big := *want
	big.ID = bodytap.NewID(want.Start.Add(time.Second))
	big.Response.Body = bodytap.Body{Bytes: []byte(strings.Repeat("compressible ", 1000)), Size: 13000, EOF: true}
	odd := *want
	odd.ID = bodytap.NewID(want.Start.Add(2 * time.Second))
	odd.Request.Method = "G\xffT"
	odd.Request.Host = "a\x00b"
	odd.Response.Body = bodytap.Body{Bytes: []byte{}, EOF: true}
	s.RecordBatch([]*bodytap.Exchange{want, &big, &odd})
	if st := s.Stats(); st.Stored != 3 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, x := range []*bodytap.Exchange{want, &big, &odd} {
		got, err := s.Get(context.Background(), x.ID)
		if err != nil {
			t.Fatal(err)
		}
		exchangetest.Same(t, got, x)
	}
	if _, err := s.Get(context.Background(), bodytap.NewID(time.Now())); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a missing ID: got %v, want ErrNotFound", err)
	}
	sums, err := s.List(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 || sums[0].ID != odd.ID || sums[2].ID != want.ID {
		t.Fatalf("List: got %d summaries, not newest first", len(sums))
	}
	if got := sums[2]; got.Method != "POST" || got.Status != 201 || got.ContentType != "text/plain; charset=utf-8" ||
		got.URL != "http://example.com/items/7?q=1" || got.Duration != want.Duration || !got.Start.Equal(want.Start) {
		t.Errorf("summary: got %+v", got)
	}
	// The compressed body takes less room than it holds.
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT length(resp) FROM bodies WHERE id = $1", big.ID[:]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n >= 13000/10 {
		t.Errorf("stored body of 13000 bytes in %d bytes, want compressed", n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	_, u := openTest(t, Options{})
	c, err := pgtest.Current()
	if err != nil {
		t.Fatal(err)
	}
	db := u[strings.LastIndex(u, "/")+1 : strings.Index(u, "?")]
	if _, err := c.Psql(db, "UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err = Open(context.Background(), u, Options{ReadOnly: ro})
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "version 99") {
			t.Fatalf("ReadOnly %v: got %v, want ErrNewerSchema", ro, err)
		}
	}
	if v, _ := c.Psql(db, "SELECT version FROM schema_version"); v != "99" {
		t.Errorf("version after the refused open: got %q, want 99 (unchanged)", v)
	}
}

func TestNotAStore(t *testing.T) {
	u := pgtest.DB(t)
	_, err := Open(context.Background(), u, Options{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "not a bodytap store") {
		t.Fatalf("got %v, want not a bodytap store", err)
	}
}

func TestMaskURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?password=secret&sslmode=require", "postgres://h/db?password=xxxxx&sslmode=require"},
		{"host=h password=secret", "(connection string)"},
		{"postgres://h/db?password=sec%zzret", "postgres://h/db?xxxxx"},
	} {
		if got := MaskURL(tc.in); got != tc.want {
			t.Errorf("MaskURL(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	_, err := Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1", Options{})
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("error of Open: got %v, want the password masked", err)
	}
}

func TestPaging(t *testing.T) {
	s, _ := openTest(t, Options{})
	t0 := time.Date(2024, 2, 20, 23, 59, 0, 0, time.UTC) // across midnight: two partitions
	var xs []*bodytap.Exchange
	for i := range 300 {
		x := exchangetest.Full(t)
		x.Start = t0.Add(time.Duration(i) * time.Second)
		x.ID = bodytap.NewID(x.Start)
		xs = append(xs, x)
	}
	s.RecordBatch(xs)
	days, err := partitions(context.Background(), s.pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) < 3 {
		t.Errorf("partitions: got %d, want the two days and the one after (and today's)", len(days))
	}
	var got []bodytap.ID
	q := store.Query{Limit: 7}
	for {
		sums, next, err := s.ListPage(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, sum := range sums {
			got = append(got, sum.ID)
		}
		if next.IsZero() {
			break
		}
		q.Before = next
	}
	if len(got) != len(xs) {
		t.Fatalf("paged through %d, want %d", len(got), len(xs))
	}
	for i, id := range got {
		if id != xs[len(xs)-1-i].ID {
			t.Fatalf("page order broken at %d", i)
		}
	}
	n, err := s.Count(context.Background(), store.Query{Since: t0.Add(60 * time.Second)})
	if err != nil || n != 240 {
		t.Errorf("Count since midnight: got %d, %v, want 240", n, err)
	}
}

func TestRetention(t *testing.T) {
	now := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	s, _ := openTest(t, Options{MaxAge: 36 * time.Hour, Now: func() time.Time { return now }})
	var xs []*bodytap.Exchange
	for h := 0; h < 24*4; h += 3 { // four days, every three hours
		x := exchangetest.Full(t)
		x.Start = now.Add(-time.Duration(h) * time.Hour)
		x.ID = bodytap.NewID(x.Start)
		xs = append(xs, x)
	}
	s.RecordBatch(xs)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	days, err := partitions(context.Background(), s.pool)
	if err != nil {
		t.Fatal(err)
	}
	cut := now.Add(-36 * time.Hour)
	if first := time.UnixMilli(days[0] * dayMillis).UTC(); first.After(cut) || first.Add(24*time.Hour).Before(cut) {
		t.Errorf("oldest partition %v, want the day of %v", first, cut)
	}
	n, err := s.Count(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, x := range xs {
		if !x.Start.Before(cut) {
			want++
		}
	}
	if n != int64(want) {
		t.Errorf("kept %d, want %d", n, want)
	}
	if st := s.Stats(); st.Deleted != int64(len(xs)-want) {
		t.Errorf("Stats().Deleted = %d, want %d", st.Deleted, len(xs)-want)
	}
}
