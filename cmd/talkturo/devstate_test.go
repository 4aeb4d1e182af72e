package main

// Tests of what `talkturo dev` keeps and how it is wiped, of its banner, of
// --help and of the README's examples, on the real binary (see dev_test.go).

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/devpostgres"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

// devEnv is the environment of a `talkturo dev` on free ports with its
// state in dataDir; databaseURL "" lets it find the server on 5432.
func devEnv(t *testing.T, dataDir, databaseURL string) []string {
	t.Helper()
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"TALKTURO_DATA_DIR=" + dataDir,
		"DATABASE_URL=" + databaseURL,
		"HTTP_ADDR=" + testkit.FreeAddr(t),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", port),
		"TEMPORAL_UI_PORT=0",
		"TELNYX_SIM_ADDR=" + testkit.FreeAddr(t),
		"TELNYX_SIM_ORDER_LATENCY=0s",
		"TELNYX_API_KEY=",
		"RECONCILE_INTERVAL=0",
	}
}

// stop sends Ctrl-C and waits for a clean exit.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("talkturo dev exited with %v after Ctrl-C", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("talkturo dev did not stop within 45s of Ctrl-C")
	}
}

// runBin runs the binary to its end with stdin from /dev/null (as in CI)
// and returns its combined output and exit code.
func runBin(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatal(err)
	}
	return string(out), 0
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, devpostgres.LocalServerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

// tiedDatabase reads the name of the data folder's database, and drops
// that database when the test ends, whatever happened.
func tiedDatabase(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postgres-database"))
	if err != nil {
		t.Fatalf("the data folder records no database: %v", err)
	}
	name := strings.TrimSpace(string(b))
	t.Cleanup(func() {
		// The killed process's connections may take a moment to go.
		for range 50 {
			if devpostgres.DropDatabase(context.Background(), name) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return name
}

func searchFirst(t *testing.T, dev *devProcess) string {
	t.Helper()
	status, found := call(t, "POST", dev.api+"/api/phone-numbers/search", dev.token, map[string]any{"filters": map[string]any{"countryCode": "US", "areaCode": "415", "numberType": "local", "limit": 5}})
	if status != 200 || found["count"].(float64) == 0 {
		t.Fatalf("search: %d %v", status, found)
	}
	return found["numbers"].([]any)[0].(map[string]any)["phoneNumber"].(string)
}

func buy(t *testing.T, dev *devProcess, number string) {
	t.Helper()
	status, bought := call(t, "POST", dev.api+"/api/phone-numbers/purchase", dev.token, map[string]any{"phoneNumber": number, "teamId": dev.teamID})
	if status != 200 || bought["phoneNumber"].(map[string]any)["status"] != "active" {
		t.Fatalf("purchase of %s: %d %v", number, status, bought)
	}
}

// TestDevStateLivesAndDiesWithItsDataDir: on a shared server each data
// folder has its own database, so deleting .data gives a clean stack
// (the number bought before can be bought again, by the new demo team,
// where a shared database would answer 409 forever), and --reset wipes the
// folder's database and files together, after saying what it deletes.
func TestDevStateLivesAndDiesWithItsDataDir(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), ".data")
	env := devEnv(t, data, "")

	dev := startDev(t, bin, env)
	first := tiedDatabase(t, data)
	if !strings.HasPrefix(first, "talkturo_") || !databaseExists(t, first) || !strings.Contains(dev.dbLine, "database "+first) {
		t.Fatalf("database %q (exists: %v), banner %q", first, databaseExists(t, first), dev.dbLine)
	}
	number := searchFirst(t, dev)
	buy(t, dev, number)
	dev.stop(t)

	// Deleting .data by hand: a new database, nothing of the old state.
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	again := startDev(t, bin, env)
	second := tiedDatabase(t, data)
	if second == first || again.teamID == dev.teamID {
		t.Fatalf("the new data folder reuses database %s / team %s", second, again.teamID)
	}
	status, list := call(t, "GET", again.api+"/api/phone-numbers/purchase?teamId="+again.teamID, again.token, nil)
	if status != 200 || len(list["numbers"].([]any)) != 0 {
		t.Fatalf("list after a fresh start: %d %v", status, list)
	}
	// The simulator's stock is a function of the query: the same search
	// offers the same number, which the old database holds.
	if n := searchFirst(t, again); n != number {
		t.Fatalf("the search no longer offers %s first (got %s): the test needs a deterministic simulator", number, n)
	}
	buy(t, again, number)

	// A reset while it runs is refused, and deletes nothing.
	if out, code := runBin(t, bin, env, "dev", "--reset", "--yes"); code == 0 || !strings.Contains(out, "running talkturo dev") {
		t.Fatalf("reset while running: exit %d: %s", code, out)
	}
	again.stop(t)

	// Without a terminal to ask on and without --yes: refused.
	out, code := runBin(t, bin, env, "dev", "--reset")
	if code == 0 || !strings.Contains(out, "--yes") || !strings.Contains(out, second) || !databaseExists(t, second) {
		t.Fatalf("reset without --yes: exit %d: %s", code, out)
	}
	// DATABASE_URL set: never drops what it points at.
	withURL := append(append([]string{}, env...), "DATABASE_URL="+strings.Replace(devpostgres.LocalServerURL, "/postgres?", "/"+second+"?", 1))
	if out, code := runBin(t, bin, withURL, "dev", "--reset", "--yes"); code == 0 || !strings.Contains(out, "DATABASE_URL") || !databaseExists(t, second) {
		t.Fatalf("reset with DATABASE_URL: exit %d: %s", code, out)
	}

	out, code = runBin(t, bin, env, "dev", "--reset", "--yes")
	if code != 0 {
		t.Fatalf("reset: exit %d: %s", code, out)
	}
	for _, said := range []string{"database " + second, filepath.Join(data, "temporal.db"), filepath.Join(data, "demo-account.json")} {
		if !strings.Contains(out, said) {
			t.Errorf("reset did not say it deletes %s:\n%s", said, out)
		}
	}
	if databaseExists(t, second) {
		t.Errorf("database %s survived the reset", second)
	}
	for _, f := range []string{"temporal.db", "temporal.db-wal", "demo-account.json", "postgres-database"} {
		if _, err := os.Stat(filepath.Join(data, f)); err == nil {
			t.Errorf("%s survived the reset", f)
		}
	}

	// And the next start is clean and works.
	fresh := startDev(t, bin, env)
	tiedDatabase(t, data)
	buy(t, fresh, searchFirst(t, fresh))
	fresh.stop(t)
}

// TestDevBannerShowsTheCurrentPlan: the banner reads the demo team's plan
// from the database, so a plan change shows after a restart.
func TestDevBannerShowsTheCurrentPlan(t *testing.T) {
	bin := buildBinary(t)
	dsn := pgtest.NewSchema(t)
	env := devEnv(t, t.TempDir(), dsn)
	dev := startDev(t, bin, env)
	if dev.plan != "free" {
		t.Fatalf("banner plan %q, want free", dev.plan)
	}
	dev.stop(t)

	db, err := persistence.Open(context.Background(), dsn, persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer persistence.Close(db)
	if err := persistence.NewAccountStore(db).SetPlan(context.Background(), dev.teamID, domain.PlanGrowth); err != nil {
		t.Fatal(err)
	}
	again := startDev(t, bin, env)
	if again.teamID != dev.teamID || again.plan != "growth" {
		t.Fatalf("after the move to growth the banner says team %s (%s plan)", again.teamID, again.plan)
	}
	again.stop(t)
}

// TestEveryCommandHelpListsItsFlagsAndVariables: `--help` on each
// subcommand exits 0 and lists its flags and the variables it reads, even
// when the configuration is bad (help must not need it).
func TestEveryCommandHelpListsItsFlagsAndVariables(t *testing.T) {
	bin := buildBinary(t)
	want := map[string][]string{
		"dev":                              {"--reset", "--yes", "TALKTURO_DATA_DIR", "DATABASE_URL", "TEMPORAL_UI_PORT", "TELNYX_SIM_ADDR", "HTTP_ADDR", tracingVars},
		"serve":                            {"DATABASE_URL", "TELNYX_API_KEY", "TEMPORAL_ADDRESS", "HTTP_ADDR", "TRIAL_DURATION", tracingVars},
		"api":                              {"DATABASE_URL", "TELNYX_API_KEY", "HTTP_ADDR", "PURCHASE_WAIT", tracingVars},
		"worker":                           {"DATABASE_URL", "TELNYX_API_KEY", "TRIAL_DURATION", "RECONCILE_INTERVAL", tracingVars},
		"migrate":                          {"up|status", "DATABASE_URL"},
		"admin bootstrap":                  {"--team-name", "--email", "--name", "--plan", "DATABASE_URL"},
		"admin register-search-attributes": {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS_CERT", "TEMPORAL_API_KEY"},
		"telnyx-sim":                       {"TELNYX_SIM_ADDR", "TELNYX_SIM_ORDER_LATENCY"},
	}
	bad := []string{"TRIAL_DURATION=soon", "DATABASE_URL="}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			out, code := runBin(t, bin, bad, append(strings.Fields(c.name), "--help")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			expected := append([]string{}, want[c.name]...)
			if c.flags != nil {
				c.flags().VisitAll(func(f *flag.Flag) { expected = append(expected, "--"+f.Name) })
			}
			for _, v := range variables() {
				if c.reads(v.name) {
					expected = append(expected, v.name)
				}
			}
			if len(want[c.name]) == 0 {
				t.Fatalf("no expectations for %s", c.name)
			}
			for _, w := range expected {
				if !regexp.MustCompile(`(^|[\s\[])` + regexp.QuoteMeta(w) + `([\s\]]|$)`).MatchString(out) {
					t.Errorf("talkturo %s --help does not list %s:\n%s", c.name, w, out)
				}
			}
		})
	}
	if len(commands) != len(want) {
		t.Errorf("%d commands, %d with expectations", len(commands), len(want))
	}
	// What dev alone reads is not offered to serve.
	if out, _ := runBin(t, bin, bad, "serve", "--help"); strings.Contains(out, "TALKTURO_DATA_DIR") {
		t.Errorf("serve --help lists TALKTURO_DATA_DIR:\n%s", out)
	}
}

// TestREADMEExamplesRunAsWritten runs the shell blocks of the README's
// "Using the API" section, then its billing webhook example, against
// `talkturo dev` (free ports, a temporary data folder, the address the
// README shows replaced by the test's), with every curl failing on a
// non-2xx answer and the shell stopping at the first failure or unset
// variable.
func TestREADMEExamplesRunAsWritten(t *testing.T) {
	bin := buildBinary(t)
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("the README's examples need curl: apt-get install curl")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	usage := shellBlocks(t, string(readme), "## Using the API")
	billing := shellBlocks(t, string(readme), "## Billing")

	work := t.TempDir()
	env := devEnv(t, filepath.Join(work, ".data"), pgtest.NewSchema(t))
	dev := startDev(t, bin, env)

	// curl as the README calls it, but failing on a non-2xx answer and
	// logging each status on stderr.
	shim := t.TempDir()
	if err := os.WriteFile(filepath.Join(shim, "curl"), []byte("#!/bin/sh\nexec "+curl+` --fail-with-body -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\n' "$@"`+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "set -eu\n" + usage + "\n" + billing
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", dev.api)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+shim+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's examples failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var calls []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "HTTP" {
			if f[1][0] != '2' {
				t.Errorf("%s %s answered %s", f[2], f[3], f[1])
			}
			u := f[3][len(dev.api):]
			u, _, _ = strings.Cut(u, "?")
			u = regexp.MustCompile(`/pn_[0-9a-z]+`).ReplaceAllString(u, "/{id}")
			calls = append(calls, f[2]+" "+u)
		}
	}
	wantCalls := []string{
		"POST /api/phone-numbers/search",
		"POST /api/phone-numbers/purchase",
		"GET /api/phone-numbers/purchase",
		"POST /api/assistants",
		"PUT /api/phone-numbers/purchase/{id}/assistant",
		"DELETE /api/phone-numbers/purchase/{id}",
		"POST /api/billing/webhook",
	}
	if strings.Join(calls, "\n") != strings.Join(wantCalls, "\n") {
		t.Fatalf("the examples made these calls:\n%s\nwant:\n%s\nstdout:\n%s", strings.Join(calls, "\n"), strings.Join(wantCalls, "\n"), stdout.String())
	}
	// The purchase bought a number the search had just returned.
	if !strings.Contains(stdout.String(), `"status":"active"`) || !strings.Contains(stdout.String(), `"status":"released"`) {
		t.Errorf("the examples did not buy then release a number:\n%s", stdout.String())
	}
	dev.stop(t)
}

// shellBlocks returns the ```sh blocks of the README section whose heading
// starts with heading, joined.
func shellBlocks(t *testing.T, readme, heading string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n"+heading)
	if !ok {
		t.Fatalf("the README has no %q section", heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "\n```sh\n")
		if !ok {
			break
		}
		block, after, _ := strings.Cut(rest, "\n```\n")
		blocks = append(blocks, block)
		section = after
	}
	if len(blocks) == 0 {
		t.Fatalf("the README's %q section has no shell block", heading)
	}
	return strings.Join(blocks, "\n")
}
