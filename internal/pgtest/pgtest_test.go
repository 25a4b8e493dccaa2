package pgtest

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestDB(t *testing.T) {
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("two databases with one URL %q", a)
	}
	c, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Psql("t1", "SELECT current_setting('server_version_num')::int >= 150000, current_database()")
	if err != nil {
		t.Fatal(err)
	}
	if want := "t|t1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
