// Package pgtest starts a throwaway PostgreSQL cluster for the tests that
// need a real server: initdb into a temporary directory, postgres on a
// loopback port with its Unix socket in that directory, and a fresh
// database per test. Nothing is mocked.
//
// A package's TestMain calls [Main]; its tests call [DB]:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.DB(t) // postgres://bodytap@127.0.0.1:port/tN?sslmode=disable
//		...
//	}
//
// The server's programs are looked for in $BODYTAP_PG_BIN, then in
// /usr/lib/postgresql/<version>/bin (Debian's layout, the newest version
// first), then on $PATH. When they are missing, DB fails the test in CI
// (CI=true) and skips it elsewhere, saying why. initdb refuses to run as
// root: as root, the cluster is made and run as the system user
// "postgres" (which Debian's package creates).
//
// Only tests import it.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Cluster is a running throwaway server.
type Cluster struct {
	Dir  string // data directory and socket directory are below it
	Port int
	bin  string
	user string // the operating-system user running the server, "" for us
	opts string // the server's options (port, sockets), for Restart

	dbs atomic.Int64
}

var (
	cluster  *Cluster
	startErr error // why there is no cluster
	once     sync.Once
)

// Main runs the tests of m and stops the cluster that they started, if
// any; its result is the exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// Available starts the cluster if need be and reports why it cannot be
// used, or nil.
func Available() error {
	once.Do(func() {
		cluster, startErr = Start()
	})
	return startErr
}

// DB returns the URL of a new, empty database of the package's cluster,
// starting the cluster on first use. Without PostgreSQL it fails the test
// in CI and skips it elsewhere.
func DB(tb testing.TB) string {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL is needed in CI: %v", err)
		}
		tb.Skipf("skipped: no PostgreSQL (%v); install Debian's postgresql package to run it", err)
	}
	name, err := cluster.CreateDB()
	if err != nil {
		tb.Fatal(err)
	}
	return cluster.URL(name)
}

// URL returns the connection URL of the database name, over TCP on the
// loopback address.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://bodytap@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// CreateDB creates a new database and returns its name.
func (c *Cluster) CreateDB() (string, error) {
	name := fmt.Sprintf("t%d", c.dbs.Add(1))
	out, err := c.command("psql", "-X", "-q", "-h", c.socketDir(), "-p", strconv.Itoa(c.Port),
		"-U", "bodytap", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
		"-c", "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgtest: create database: %v: %s", err, out)
	}
	return name, nil
}

// Psql runs a statement in the database name as the superuser.
func (c *Cluster) Psql(name, sql string) (string, error) {
	out, err := c.command("psql", "-X", "-q", "-A", "-t", "-h", c.socketDir(), "-p", strconv.Itoa(c.Port),
		"-U", "bodytap", "-d", name, "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgtest: psql: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Current returns the package's cluster, starting it if need be.
func Current() (*Cluster, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	return cluster, nil
}

func (c *Cluster) dataDir() string   { return filepath.Join(c.Dir, "data") }
func (c *Cluster) socketDir() string { return c.Dir }

// command returns a command running the server program name as the
// cluster's user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGCONNECT_TIMEOUT=10")
	if c.user != "" {
		runAs(cmd, c.user)
	}
	return cmd
}

// Start initializes and starts a new cluster. Stop it when done.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bodytap-pg")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		c.user = "postgres"
		if err := chownTo(dir, c.user); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs the user postgres to run the server: %w", err)
		}
	}
	out, err := c.command("initdb", "-D", c.dataDir(), "-U", "bodytap", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}
	for try := 0; ; try++ {
		if c.Port, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.opts = strings.Join([]string{
			"-c listen_addresses=127.0.0.1",
			"-c port=" + strconv.Itoa(c.Port),
			"-c unix_socket_directories=" + c.socketDir(),
			"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
			"-c max_connections=100", "-c shared_buffers=64MB",
		}, " ")
		out, err = c.command("pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(),
			"-l", filepath.Join(c.Dir, "log"), "-o", c.opts).CombinedOutput()
		if err == nil {
			return c, nil
		}
		if try == 2 {
			log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: pg_ctl start: %v: %s\n%s", err, out, log)
		}
	}
}

// Stop stops the server at once and removes its directory.
func (c *Cluster) Stop() error {
	out, err := c.command("pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.dataDir()).CombinedOutput()
	os.RemoveAll(c.Dir)
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Restart stops the server and starts it again on the same port, after
// pause (a writer losing its database for a while).
func (c *Cluster) Restart(ctx context.Context, pause time.Duration) error {
	if out, err := c.command("pg_ctl", "stop", "-w", "-m", "fast", "-D", c.dataDir()).CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
	select {
	case <-ctx.Done():
	case <-time.After(pause):
	}
	if out, err := c.command("pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(),
		"-l", filepath.Join(c.Dir, "log"), "-o", c.opts).CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// findBin returns the directory of the server's programs.
func findBin() (string, error) {
	if d := os.Getenv("BODYTAP_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found (in $BODYTAP_PG_BIN, /usr/lib/postgresql/*/bin or $PATH)")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// freePort returns a TCP port on the loopback address that was free a
// moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
