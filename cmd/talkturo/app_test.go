package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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
	for name, roles := range map[string]role{"api": roleAPI, "worker": roleWorker, "serve": roleAPI | roleWorker} {
		if err := fx.ValidateApp(appOptions(cfg, log, roles)...); err != nil {
			t.Errorf("%s: %v", name, err)
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
		{"T", "a@b.c", "A", "gold", "--plan"},
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
