package devpostgres

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPrivateClusterStartsStopsAndKeepsItsData initialises a real cluster
// from the machine's PostgreSQL binaries, as `talkturo dev` does when no
// server answers, and starts it again on the same folder.
func TestPrivateClusterStartsStopsAndKeepsItsData(t *testing.T) {
	bin, err := findBinaries()
	if err != nil {
		t.Fatalf("this machine has no PostgreSQL server binaries (apt-get install postgresql): %v", err)
	}
	dir := clusterDir(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	db, err := startPrivate(ctx, bin, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, db.URL, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}

	again, err := startPrivate(ctx, bin, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	wantKept(t, again.URL)

	// Stopped and started in place: same URL, same data.
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := again.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wantKept(t, again.URL)
}

// TestRemovePrivateStopsALeftOverClusterAndDeletesIt: what `talkturo dev
// --reset` does to a private cluster that a killed dev left running.
func TestRemovePrivateStopsALeftOverClusterAndDeletesIt(t *testing.T) {
	dir := clusterDir(t)
	ctx := context.Background()
	db, err := StartPrivate(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	execSQL(t, db.URL, "SELECT 1")

	if err := RemovePrivate(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s is still there: %v", dir, err)
	}
	if err := ping(ctx, db.URL); err == nil {
		t.Fatal("the cluster still answers after RemovePrivate")
	}
	// Nothing there: nothing to do.
	if err := RemovePrivate(ctx, dir); err != nil {
		t.Fatal(err)
	}
}

func wantKept(t *testing.T, url string) {
	t.Helper()
	onCluster(t, url, func(ctx context.Context, conn *pgx.Conn) {
		var v int
		if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
			t.Fatalf("the data did not survive a restart: %d %v", v, err)
		}
	})
}

func TestDatabaseURLWins(t *testing.T) {
	db, err := Ensure(context.Background(), "postgres://u@db.example:5432/x", t.TempDir(), func() (string, error) {
		t.Fatal("a database was named on the local server although DATABASE_URL is set")
		return "", nil
	}, slog.New(slog.DiscardHandler))
	if err != nil || db.URL != "postgres://u@db.example:5432/x" || db.Source != "DATABASE_URL" {
		t.Fatalf("Ensure = %+v, %v", db, err)
	}
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	onCluster(t, url, func(ctx context.Context, conn *pgx.Conn) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	})
}

// onCluster runs f on a connection of its own to the cluster at url,
// closed before it returns so that the cluster can stop.
func onCluster(t *testing.T, url string, f func(ctx context.Context, conn *pgx.Conn)) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	f(ctx, conn)
}

// clusterDir returns the data folder of a private cluster, in a folder of
// its own that the test removes. The cluster runs as the unprivileged
// postgres user when we are root, so that folder must be reachable by that
// user (t.TempDir is not).
func clusterDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "devpostgres-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(base, "data", "postgres")
}

func TestNoBinariesSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := debianBinaries
	debianBinaries = filepath.Join(t.TempDir(), "*", "bin")
	t.Cleanup(func() { debianBinaries = saved })
	_, err := findBinaries()
	if err != ErrNoPostgres {
		t.Fatalf("findBinaries = %v, want ErrNoPostgres", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "apt-get install postgresql") || !strings.Contains(msg, "DATABASE_URL") {
		t.Fatalf("the message does not say what to do: %q", msg)
	}
}
