package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// bootstrapOutput is the stable contract scripts parse: one JSON line.
type bootstrapOutput struct {
	TeamID string `json:"teamId"`
	UserID string `json:"userId"`
	Token  string `json:"token"`
}

// flagAttachExistingUser lets bootstrap give an existing user (and so
// every key and team of theirs) the new team: never by accident.
const flagAttachExistingUser = "attach-existing-user"

// runAdmin runs an administrative task: bootstrap or
// register-search-attributes.
func runAdmin(ctx context.Context, cfg config.Config, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "bootstrap":
		return runBootstrap(ctx, cfg, args[1:])
	case len(args) > 0 && args[0] == "register-search-attributes":
		return runRegisterSearchAttributes(ctx, cfg, args[1:])
	}
	return errors.New("admin takes a task: bootstrap --team-name N --email E --name U --plan P [--attach-existing-user], or register-search-attributes")
}

// runBootstrap creates a team, a user in it and an API key, and prints
// them (bootstrapOutput).
func runBootstrap(ctx context.Context, cfg config.Config, args []string) error {
	fs, f := bootstrapFlags()
	if err := fs.Parse(args); err != nil {
		return usageError{cmd: "admin bootstrap", err: err}
	}
	in, err := bootstrapInput(*f.teamName, *f.email, *f.name, *f.plan)
	if err != nil {
		return err
	}
	in.AttachExistingUser = *f.attach
	if cfg.DatabaseURL == "" {
		return &config.Error{Var: "DATABASE_URL", Message: "must be set for admin bootstrap."}
	}
	db, err := persistence.Open(ctx, cfg.DatabaseURL, persistence.WithMaxOpenConns(cfg.DatabaseMaxConns),
		persistence.WithStatementTimeout(cfg.DatabaseStatementTimeout), persistence.WithConnectTimeout(cfg.DatabaseConnectTimeout))
	if err != nil {
		return err
	}
	defer persistence.Close(db)
	out, err := bootstrap(ctx, persistence.NewAccountStore(db), in)
	if errors.Is(err, domain.ErrUserExists) {
		return fmt.Errorf("admin bootstrap: a user with the email %s already exists; pass --%s to make that user owner of the new team too (every API key of theirs then reaches it)", in.UserEmail, flagAttachExistingUser)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// bootstrapArgs are the values of admin bootstrap's flags.
type bootstrapArgs struct {
	teamName, email, name, plan *string
	attach                      *bool
}

// bootstrapFlags defines admin bootstrap's flags (--help lists them).
func bootstrapFlags() (*flag.FlagSet, bootstrapArgs) {
	fs := flag.NewFlagSet("admin bootstrap", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, bootstrapArgs{
		teamName: fs.String("team-name", "", "name of the new team (required)"),
		email:    fs.String("email", "", "email of the new user (required; an existing user's only with --attach-existing-user)"),
		name:     fs.String("name", "", "name of the user (required)"),
		plan:     fs.String("plan", "free", "plan of the team: free, starter, growth or scale"),
		attach:   fs.Bool(flagAttachExistingUser, false, "when --email is an existing user's, make that user owner of the new team too (their API keys then reach it)"),
	}
}

func bootstrapInput(teamName, email, name, plan string) (domain.BootstrapInput, error) {
	teamName, email, name = strings.TrimSpace(teamName), strings.TrimSpace(email), strings.TrimSpace(name)
	switch {
	case teamName == "":
		return domain.BootstrapInput{}, errors.New("admin bootstrap: --team-name is required")
	case email == "" || !strings.Contains(email, "@"):
		return domain.BootstrapInput{}, errors.New("admin bootstrap: --email must be an email address")
	case name == "":
		return domain.BootstrapInput{}, errors.New("admin bootstrap: --name is required")
	}
	p, err := domain.ParsePlanName(plan)
	if err != nil {
		// The sentence without the API's error code.
		return domain.BootstrapInput{}, fmt.Errorf("admin bootstrap: --plan: %s", domain.UnknownPlan(plan).Message)
	}
	return domain.BootstrapInput{TeamName: teamName, Plan: p, UserEmail: email, UserName: name}, nil
}

// bootstrap creates the team, user and key; the token exists only in the
// returned output.
func bootstrap(ctx context.Context, accounts domain.AccountStore, in domain.BootstrapInput) (bootstrapOutput, error) {
	token, hash := domain.NewAPIToken()
	in.TokenHash, in.TokenPrefix = hash, domain.APITokenDisplayPrefix(token)
	res, err := accounts.Bootstrap(ctx, in)
	if err != nil {
		return bootstrapOutput{}, err
	}
	return bootstrapOutput{TeamID: res.TeamID, UserID: res.UserID, Token: token}, nil
}
