// Package devpostgres finds or starts the PostgreSQL that `talkturo dev`
// uses: DATABASE_URL when set, else a database of its own on a server at
// 127.0.0.1:5432 if one answers, else a private cluster initialised under
// the data folder from the machine's PostgreSQL binaries, running as long as
// the program runs.
package devpostgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DatabaseName is the database `talkturo dev` uses in its private cluster
// (the caller names the one it uses on a shared server).
const DatabaseName = "talkturo"

// LocalServerURL is the machine's own PostgreSQL, tried when DATABASE_URL is
// unset.
const LocalServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"

// ErrNoPostgres is returned when no database can be found or started.
var ErrNoPostgres = errors.New("no PostgreSQL found: set DATABASE_URL, start PostgreSQL on 127.0.0.1:5432, or install its server binaries (Debian: apt-get install postgresql) so that talkturo dev can run a private cluster")

// Database is the PostgreSQL that was found or started.
type Database struct {
	URL string
	// Source says where it came from: "DATABASE_URL", "local server" or
	// "private cluster at <dir>".
	Source string
	stop   func() error
	start  func(context.Context) error
}

// Start starts again, on the same port and data, a private cluster that
// Stop stopped (a test uses it to restart the database under the system).
func (d *Database) Start(ctx context.Context) error {
	if d.start == nil {
		return errors.New("devpostgres: only a private cluster can be started")
	}
	return d.start(ctx)
}

// Stop stops a private cluster; it does nothing for a server we did not start.
func (d *Database) Stop() error {
	if d.stop == nil {
		return nil
	}
	return d.stop()
}

// Ensure returns the database to use, starting a private cluster under
// dataDir when it has to. On the local server it uses the database that
// shared returns (called only then, so that a name is chosen only when a
// shared server is really used), created if missing.
func Ensure(ctx context.Context, databaseURL, dataDir string, shared func() (string, error), log *slog.Logger) (*Database, error) {
	if databaseURL != "" {
		return &Database{URL: databaseURL, Source: "DATABASE_URL"}, nil
	}
	if err := ping(ctx, LocalServerURL); err == nil {
		name, err := shared()
		if err != nil {
			return nil, err
		}
		u, err := ensureDatabase(ctx, LocalServerURL, name)
		if err != nil {
			return nil, err
		}
		return &Database{URL: u, Source: "local server on 127.0.0.1:5432, database " + name}, nil
	}
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	return startPrivate(ctx, bin, filepath.Join(dataDir, "postgres"), log)
}

// StartPrivate starts a private cluster in dir (initialising it the first
// time) from the machine's PostgreSQL binaries, whatever else runs: for
// tests that must stop and start their database. dir must be reachable by
// the postgres user when running as root.
func StartPrivate(ctx context.Context, dir string, log *slog.Logger) (*Database, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	return startPrivate(ctx, bin, dir, log)
}

// DropDatabase drops the database name on the local server, if it exists.
// PostgreSQL refuses while anyone is connected to it, which is what keeps a
// running `talkturo dev` (or anything else using it) from losing its data.
func DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, LocalServerURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL on 127.0.0.1:5432 to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// RemovePrivate stops the private cluster in dir if it still runs (a killed
// `talkturo dev` leaves it running) and deletes dir.
func RemovePrivate(ctx context.Context, dir string) error {
	pgdata := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(pgdata, "postmaster.pid")); err == nil {
		bin, err := findBinaries()
		if err != nil {
			return fmt.Errorf("the private PostgreSQL cluster in %s still runs and cannot be stopped: %w", pgdata, err)
		}
		var cred *syscall.Credential
		if os.Geteuid() == 0 {
			if cred, err = postgresUser(); err != nil {
				return err
			}
		}
		if out, err := run(ctx, cred, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop"); err != nil && !strings.Contains(out, "Is server running?") {
			return fmt.Errorf("stop the private PostgreSQL cluster in %s: %w: %s", pgdata, err, out)
		}
	}
	return os.RemoveAll(dir)
}

func ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// ensureDatabase creates the database on the server at serverURL if it is
// missing and returns a URL naming it.
func ensureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look for database %s: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// debianBinaries is where Debian's packages put each version's server.
var debianBinaries = "/usr/lib/postgresql/*/bin"

// findBinaries looks for a folder holding initdb and pg_ctl: on PATH, then
// in Debian's /usr/lib/postgresql/<version>/bin (newest first).
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(debianBinaries)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// startPrivate initialises (once) and starts a cluster in dir, listening on
// 127.0.0.1 at a free port and on a socket inside dir.
func startPrivate(ctx context.Context, bin, dir string, log *slog.Logger) (*Database, error) {
	// initdb and postgres refuse to run as root: run them as the
	// unprivileged user that Debian's package creates.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		var err error
		if cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if cred != nil {
		if err := chownTree(filepath.Dir(dir), dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	pgdata := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		log.Info("initialising a private PostgreSQL cluster", "dir", pgdata)
		if out, err := run(ctx, cred, filepath.Join(bin, "initdb"), "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
			return nil, fmt.Errorf("initdb %s failed: %w: %s", pgdata, err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "postgres.log")
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s", port, dir)
	// A cluster left running by a killed dev process is stopped first, so
	// that this start owns it.
	_, _ = run(ctx, cred, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop")
	start := func(ctx context.Context) error {
		if out, err := run(ctx, cred, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-l", logFile, "-o", opts, "-w", "-t", "60", "start"); err != nil {
			return fmt.Errorf("start the private PostgreSQL cluster in %s failed (see %s): %w: %s", pgdata, logFile, err, out)
		}
		return nil
	}
	if err := start(ctx); err != nil {
		return nil, err
	}
	server := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	stop := func() error {
		out, err := run(context.Background(), cred, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop")
		if err != nil {
			return fmt.Errorf("stop the private PostgreSQL cluster: %w: %s", err, out)
		}
		return nil
	}
	u, err := ensureDatabase(ctx, server, DatabaseName)
	if err != nil {
		_ = stop()
		return nil, err
	}
	return &Database{URL: u, Source: "private cluster at " + pgdata, stop: stop, start: start}, nil
}

// postgresUser is the unprivileged user that Debian's package creates, which
// initdb, pg_ctl and postgres run as when we are root (they refuse root).
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, a private PostgreSQL cluster needs the 'postgres' user to run as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func run(ctx context.Context, cred *syscall.Credential, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	// Keep the cluster alive when the terminal's Ctrl-C reaches the process
	// group: the program stops it itself, cleanly, on the way out.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// chownTree hands dir and the folders between base and dir to uid:gid, so
// the unprivileged server can write its cluster there.
func chownTree(base, dir string, uid, gid int) error {
	for d := dir; ; d = filepath.Dir(d) {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", d, err)
		}
		if d == base || d == filepath.Dir(d) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
