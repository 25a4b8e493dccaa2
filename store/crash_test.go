package store

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

const crashEnv = "BODYTAP_STORE_CRASH_CHILD"

// TestCrashHelper is the child process of TestCrash: it writes to the
// store named in its environment as fast as it can and prints
// "committed N" each time RecordBatch returns, N being the exchanges
// given to it so far, until killed.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the child process of TestCrash")
	}
	s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	tmpl := templates(64, 1024)
	t0 := time.Now()
	batch := make([]*bodytap.Exchange, 200)
	for i := 0; ; i++ {
		x := *tmpl[i%len(tmpl)]
		x.Start = t0.Add(time.Duration(i) * time.Microsecond)
		x.ID = bodytap.NewID(x.Start)
		batch[i%len(batch)] = &x
		if i%len(batch) == len(batch)-1 {
			s.RecordBatch(batch)
			fmt.Printf("committed %d\n", i+1)
		}
	}
}

// TestCrash kills a process that writes a store (kill -9) in the middle
// of its ingest, and checks that the store opens in less than a second,
// is intact, and holds every exchange whose RecordBatch had returned
// (appended to the log; the database inserts what it lacks after Open),
// each of which reads back from the log: at most the batch in flight
// (RecordBatch had not returned) is lost.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	rounds := 3
	if raceEnabled {
		rounds = 1
	}
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "crash.db")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it at a different point each round, with data in flight.
		target := int64(1000 + round*900)
		var committed int64
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			n, ok := strings.CutPrefix(line, "committed ")
			if !ok {
				t.Fatalf("child: %s", line)
			}
			if committed, err = strconv.ParseInt(n, 10, 64); err != nil {
				t.Fatal(err)
			}
			if committed >= target {
				break
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		// Lines written before the kill may still be in the pipe.
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				if v, err := strconv.ParseInt(n, 10, 64); err == nil {
					committed = max(committed, v)
				}
			}
		}
		cmd.Wait()
		if committed < target {
			t.Fatalf("child stopped after %d committed", committed)
		}

		start := time.Now()
		s := openAt(t, path, Options{})
		if d := time.Since(start); d > time.Second {
			t.Errorf("Open took %v after the crash", d)
		}
		backlog := s.Stats().Backlog
		flush(t, s)
		checkIntegrity(t, s)
		n, err := s.Count(context.Background(), Query{})
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		s.rdb.QueryRow("SELECT count(*) FROM exchanges").Scan(&rows)
		t.Logf("round %d: RecordBatch returned for %d exchanges; the store holds %d (counted %d), %d of them inserted after Open", round, committed, rows, n, backlog)
		if rows < committed || n != rows {
			t.Errorf("file holds %d exchanges (Count %d), the child had committed %d", rows, n, committed)
		}
		// Every exchange reads back from the log.
		read := int64(0)
		for _, err := range s.Scan(context.Background(), Query{}) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			read++
		}
		if read != rows {
			t.Errorf("Scan read %d exchanges, the file holds %d", read, rows)
		}
		// The store goes on working.
		x := newGen(1).next()
		s.Record(x)
		flush(t, s)
		if _, err := s.Get(context.Background(), x.ID); err != nil {
			t.Error(err)
		}
		s.Close()
	}
}
