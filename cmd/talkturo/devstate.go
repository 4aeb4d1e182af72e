//go:build devstack

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"unsafe"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/persistence/devpostgres"
)

// devState is the data folder of `talkturo dev` (TALKTURO_DATA_DIR) and
// what lives in it. Temporal's state is a file in it, so the product's rows
// must live and die with it: a private cluster lives inside it, and a
// database on a shared server is tied to it by the name recorded in it.
type devState struct{ dir string }

func (s devState) temporalDB() string     { return filepath.Join(s.dir, "temporal.db") }
func (s devState) demoAccount() string    { return filepath.Join(s.dir, "demo-account.json") }
func (s devState) privateCluster() string { return filepath.Join(s.dir, "postgres") }
func (s devState) databaseFile() string   { return filepath.Join(s.dir, "postgres-database") }
func (s devState) lockFile() string       { return filepath.Join(s.dir, "dev.lock") }

// legacyDatabase is the one shared database every data folder used before
// databases were tied to their folder.
const legacyDatabase = "talkturo"

// tiedName is what a data folder's database on a shared server may be
// called: reset drops only such a name, whatever the file says.
var tiedName = regexp.MustCompile(`^talkturo(_[0-9a-f]{12})?$`)

// sharedDatabase returns the name of this folder's database on a shared
// server, choosing and recording it on the first start. A fresh name per
// folder means a deleted folder (or a second clone) never meets rows whose
// workflows exist nowhere. A folder that already holds a demo account from
// before the tie adopts the old shared database, whose rows match its
// Temporal state.
func (s devState) sharedDatabase(log *slog.Logger) (string, error) {
	if b, err := os.ReadFile(s.databaseFile()); err == nil {
		name := strings.TrimSpace(string(b))
		if !tiedName.MatchString(name) {
			return "", fmt.Errorf("%s names %q, which is not a database talkturo dev made; delete the file to start with a new database", s.databaseFile(), name)
		}
		return name, nil
	}
	name := legacyDatabase
	if _, err := os.Stat(s.demoAccount()); err != nil {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name = "talkturo_" + hex.EncodeToString(b)
	} else {
		log.Info("this data folder predates per-folder databases: keeping the shared database it used; `talkturo dev --reset` starts afresh", "database", name)
	}
	if err := os.WriteFile(s.databaseFile(), []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("record the database name in %s: %w", s.databaseFile(), err)
	}
	return name, nil
}

// lock takes the folder for this process until release (or its death: the
// kernel drops the lock with the process), so that a second `talkturo dev`
// or a reset cannot use the same state under a running one.
func (s devState) lock() (release func(), err error) {
	f, err := os.OpenFile(s.lockFile(), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &config.Error{Var: "TALKTURO_DATA_DIR", Message: fmt.Sprintf("is %s, which a running talkturo dev is using: stop it first (or point TALKTURO_DATA_DIR elsewhere).", s.dir)}
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// resetItem is one thing a reset deletes.
type resetItem struct {
	what   string
	delete func(context.Context) error
}

// resetPlan lists what `talkturo dev --reset` deletes: the folder's
// database on the shared server, its private cluster, Temporal's state and
// the demo account. Only what this folder made is listed.
func (s devState) resetPlan() []resetItem {
	var items []resetItem
	if b, err := os.ReadFile(s.databaseFile()); err == nil {
		if name := strings.TrimSpace(string(b)); tiedName.MatchString(name) {
			items = append(items, resetItem{
				what:   fmt.Sprintf("database %s on the PostgreSQL server at 127.0.0.1:5432 (%s)", name, s.databaseFile()),
				delete: func(ctx context.Context) error { return devpostgres.DropDatabase(ctx, name) },
			})
		}
	}
	if _, err := os.Stat(s.privateCluster()); err == nil {
		items = append(items, resetItem{
			what:   "the private PostgreSQL cluster " + s.privateCluster(),
			delete: func(ctx context.Context) error { return devpostgres.RemovePrivate(ctx, s.privateCluster()) },
		})
	}
	for _, f := range []struct{ what, path string }{
		{"Temporal's state", s.temporalDB()},
		{"the demo account", s.demoAccount()},
	} {
		if _, err := os.Stat(f.path); err != nil {
			continue
		}
		path := f.path
		items = append(items, resetItem{what: f.what + " " + path, delete: func(context.Context) error {
			// SQLite's write-ahead log and shared memory go with the file.
			for _, p := range []string{path + "-wal", path + "-shm", path} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		}})
	}
	if len(items) > 0 {
		// Last: the name, once the database it names is gone.
		items = append(items, resetItem{delete: func(context.Context) error {
			if err := os.Remove(s.databaseFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		}})
	}
	return items
}

// runDevReset is `talkturo dev --reset`: it says what it will delete, asks
// (or needs --yes when stdin is not a terminal), and deletes it, the
// database first so that a failure leaves the tie in place.
func runDevReset(ctx context.Context, cfg config.Config, yes bool, in io.Reader, out io.Writer) error {
	if cfg.DatabaseURL != "" {
		return &config.Error{Var: "DATABASE_URL", Message: "is set: talkturo dev --reset never drops a database it was pointed at. Unset it to reset the dev stack's own state; empty that database yourself if you mean to."}
	}
	s := devState{dir: cfg.DataDir}
	if _, err := os.Stat(s.dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "Nothing to reset: %s does not exist.\n", s.dir)
		return nil
	}
	release, err := s.lock()
	if err != nil {
		return err
	}
	defer release()
	plan := s.resetPlan()
	if len(plan) == 0 {
		fmt.Fprintf(out, "Nothing to reset in %s.\n", s.dir)
		return nil
	}
	fmt.Fprintln(out, "talkturo dev --reset deletes:")
	for _, it := range plan {
		if it.what != "" {
			fmt.Fprintln(out, "  - "+it.what)
		}
	}
	if !yes {
		if !isTerminal(in) {
			return errors.New("dev --reset: stdin is not a terminal to confirm on; run again with --yes to delete the above")
		}
		fmt.Fprint(out, "Delete all of this? [y/N] ")
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(out, "Nothing deleted.")
			return nil
		}
	}
	for _, it := range plan {
		if err := it.delete(ctx); err != nil {
			return fmt.Errorf("dev --reset stopped (what is listed after this was kept): %w", err)
		}
	}
	_ = os.Remove(s.lockFile())
	_ = os.Remove(s.dir) // only when nothing else is in it
	fmt.Fprintln(out, "Deleted. The next `make run` starts afresh.")
	return nil
}

// isTerminal reports whether r is a terminal (not /dev/null, a pipe or a
// file, which a CI job or a script gives).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	// Only a terminal answers TCGETS (what golang.org/x/term asks, without
	// a module more in go.mod).
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
