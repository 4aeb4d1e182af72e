package backend

import (
	"cmp"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
)

// Account is what Bootstrap made: a team, its user and the user's API key,
// with the key's token, which only its creator ever sees.
type Account struct {
	domain.BootstrapResult
	Token string
}

// Bootstrap creates a team, a user and an API key as in, filling what in
// leaves empty: a fresh API token (Account.Token; empty when in brings its
// own hash), the team name "Team", a fresh email and the user name "Test
// User". It fails the test when the store refuses.
func Bootstrap(t testing.TB, accounts domain.AccountStore, in domain.BootstrapInput) Account {
	t.Helper()
	var token string
	if in.TokenHash == "" {
		token, in.TokenHash = domain.NewAPIToken()
		in.TokenPrefix = domain.APITokenDisplayPrefix(token)
	}
	in.TeamName = cmp.Or(in.TeamName, "Team")
	in.UserEmail = cmp.Or(in.UserEmail, strings.ToLower(domain.NewID("u"))+"@example.com")
	in.UserName = cmp.Or(in.UserName, "Test User")
	res, err := accounts.Bootstrap(t.Context(), in)
	if err != nil {
		t.Fatalf("Bootstrap(%s): %v", in.UserEmail, err)
	}
	return Account{BootstrapResult: res, Token: token}
}

// Team bootstraps a team of plan with a user of its own (Bootstrap).
func (b *Backend) Team(t testing.TB, plan domain.PlanName) Account {
	t.Helper()
	return Bootstrap(t, b.Accounts, domain.BootstrapInput{Plan: plan})
}
