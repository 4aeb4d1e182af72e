package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

func TestAppGraphsAreComplete(t *testing.T) {
	cfg, err := config.Load(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "TELNYX_API_KEY": "k"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	traced, err := config.Load(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "TELNYX_API_KEY": "k", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
	if err != nil || !traced.Tracing.Export {
		t.Fatalf("tracing on: %+v, %v", traced.Tracing, err)
	}
	for name, roles := range map[string]role{"api": roleAPI, "worker": roleWorker, "serve": roleAPI | roleWorker} {
		if err := fx.ValidateApp(appOptions(cfg, log, roles)...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := fx.ValidateApp(appOptions(traced, log, roles)...); err != nil {
			t.Errorf("%s, traced: %v", name, err)
		}
	}
}

func TestServeNamesMissingVariables(t *testing.T) {
	cfg, _ := config.Load(map[string]string{})
	err := runServe(context.Background(), cfg, roleAPI)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "DATABASE_URL" {
		t.Fatalf("serve without DATABASE_URL: %v", err)
	}
	cfg.DatabaseURL = "postgres://x@127.0.0.1/x"
	err = runServe(context.Background(), cfg, roleAPI)
	if !errors.As(err, &ce) || ce.Var != "TELNYX_API_KEY" {
		t.Fatalf("serve without TELNYX_API_KEY: %v", err)
	}
}

func TestBootstrapInputValidation(t *testing.T) {
	for _, tc := range []struct{ team, email, name, plan, want string }{
		{"", "a@b.c", "A", "free", "--team-name"},
		{"T", "nope", "A", "free", "--email"},
		{"T", "a@b.c", "", "free", "--name"},
		{"T", "a@b.c", "A", "gold", `admin bootstrap: --plan: Unknown plan "gold": use one of free, starter, growth, scale.`},
	} {
		_, err := bootstrapInput(tc.team, tc.email, tc.name, tc.plan)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bootstrapInput(%q,%q,%q,%q) = %v, want an error about %s", tc.team, tc.email, tc.name, tc.plan, err, tc.want)
		}
	}
}

func TestBootstrapPrintsAWorkingToken(t *testing.T) {
	db := pgtest.NewDB(t)
	accounts := persistence.NewAccountStore(db)
	in, err := bootstrapInput("Acme", "ops@acme.test", "Ops", "Growth")
	if err != nil {
		t.Fatal(err)
	}
	out, err := bootstrap(context.Background(), accounts, in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(out)
	var printed map[string]string
	if err := json.Unmarshal(buf.Bytes(), &printed); err != nil || len(printed) != 3 || printed["teamId"] == "" || printed["userId"] == "" || printed["token"] == "" {
		t.Fatalf("printed %q", buf.String())
	}
	p, err := accounts.Authenticate(context.Background(), domain.HashAPIToken(out.Token))
	if err != nil || p.UserID != out.UserID {
		t.Fatalf("the printed token does not authenticate: %+v %v", p, err)
	}
	if ok, _ := accounts.IsMember(context.Background(), out.UserID, out.TeamID); !ok {
		t.Fatal("the user is not in the team")
	}
	if e, _ := accounts.Eligibility(context.Background(), out.TeamID); e.PlanName != "Growth" || e.MaxAllowed != 10 {
		t.Fatalf("plan = %+v", e)
	}
}

// runAdminBootstrap runs `talkturo admin bootstrap args…` against dsn and
// returns what it printed on stdout.
func runAdminBootstrap(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	cfg, err := config.Load(map[string]string{"DATABASE_URL": dsn})
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	runErr := runAdmin(t.Context(), cfg, append([]string{"bootstrap"}, args...))
	os.Stdout = stdout
	_ = w.Close()
	out, _ := io.ReadAll(r)
	return string(out), runErr
}

// TestBootstrapExistingEmailNeedsTheFlag: admin bootstrap with the email of
// an existing user refuses, naming the flag, and leaves no team behind;
// with --attach-existing-user the user owns the new team too, and the
// output is the same JSON contract.
func TestBootstrapExistingEmailNeedsTheFlag(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	base := []string{"--team-name", "Acme", "--email", "ops@acme.test", "--name", "Ops", "--plan", "growth"}
	first, err := runAdminBootstrap(t, dsn, base...)
	if err != nil {
		t.Fatal(err)
	}
	var made bootstrapOutput
	if err := json.Unmarshal([]byte(first), &made); err != nil || made.TeamID == "" || made.UserID == "" || made.Token == "" {
		t.Fatalf("first bootstrap printed %q (%v)", first, err)
	}

	other := []string{"--team-name", "Other", "--email", "OPS@acme.test", "--name", "Ops", "--plan", "free"}
	out, err := runAdminBootstrap(t, dsn, other...)
	if err == nil || !strings.Contains(err.Error(), "--attach-existing-user") || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("bootstrap with an existing email: %v (printed %q), want an error naming --attach-existing-user", err, out)
	}
	if strings.Count(strings.TrimSuffix(err.Error(), "."), ". ") > 0 || out != "" {
		t.Errorf("the refusal %q is not one sentence, or something was printed: %q", err, out)
	}
	db, err := persistence.Open(t.Context(), dsn, persistence.WithMaxOpenConns(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	var teams int64
	if err := db.Raw("SELECT count(*) FROM teams").Find(&teams).Error; err != nil || teams != 1 {
		t.Fatalf("%d teams after the refusal (%v), want 1", teams, err)
	}

	out, err = runAdminBootstrap(t, dsn, append(other, "--attach-existing-user")...)
	if err != nil {
		t.Fatal(err)
	}
	var attached map[string]string
	if err := json.Unmarshal([]byte(out), &attached); err != nil || len(attached) != 3 || attached["token"] == "" {
		t.Fatalf("bootstrap --attach-existing-user printed %q (%v)", out, err)
	}
	if attached["userId"] != made.UserID || attached["teamId"] == made.TeamID {
		t.Fatalf("attached user %s to team %s; want user %s on a new team", attached["userId"], attached["teamId"], made.UserID)
	}
	accounts := persistence.NewAccountStore(db)
	for _, team := range []string{made.TeamID, attached["teamId"]} {
		if ok, err := accounts.IsMember(t.Context(), made.UserID, team); err != nil || !ok {
			t.Errorf("the user is not in team %s: %v", team, err)
		}
	}
}
