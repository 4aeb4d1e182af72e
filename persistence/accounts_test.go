package persistence_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestBootstrapThenAuthenticate(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	acct := newAccount(t, db, domain.PlanStarter)

	for _, id := range []struct{ got, prefix string }{
		{acct.TeamID, domain.PrefixTeam + "_"},
		{acct.UserID, domain.PrefixUser + "_"},
		{acct.APIKeyID, domain.PrefixAPIKey + "_"},
	} {
		if !strings.HasPrefix(id.got, id.prefix) {
			t.Errorf("id %q, want prefix %q", id.got, id.prefix)
		}
	}

	p, err := store.Authenticate(ctx, domain.HashAPIToken(acct.Token))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.UserID != acct.UserID || p.APIKeyID != acct.APIKeyID {
		t.Errorf("Authenticate = %+v, want user %s key %s", p, acct.UserID, acct.APIKeyID)
	}

	// The token itself is never stored, only its hash.
	if countRows(t, db, "SELECT count(*) FROM api_keys WHERE token_hash = ?", acct.Token) != 0 {
		t.Error("the plaintext token is stored")
	}

	team, err := store.GetTeam(ctx, acct.TeamID)
	if err != nil {
		t.Fatalf("GetTeam: %v", err)
	}
	if team.ID != acct.TeamID || team.Name != "Team starter" || team.Plan != domain.PlanStarter || team.CreatedAt.IsZero() {
		t.Errorf("GetTeam = %+v", team)
	}
	user, err := store.GetUser(ctx, acct.UserID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if user.ID != acct.UserID || user.Name != "Ann Example" || !strings.HasSuffix(user.Email, "@example.com") {
		t.Errorf("GetUser = %+v", user)
	}
}

func TestAuthenticateRecordsLastUseAtMostOncePerMinute(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	acct := newAccount(t, db, domain.PlanFree)
	hash := domain.HashAPIToken(acct.Token)

	lastUsed := func() *time.Time {
		var key struct{ LastUsedAt *time.Time }
		if err := db.Raw("SELECT last_used_at FROM api_keys WHERE id = ?", acct.APIKeyID).Find(&key).Error; err != nil {
			t.Fatal(err)
		}
		return key.LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new key has a last use")
	}
	if _, err := store.Authenticate(ctx, hash); err != nil {
		t.Fatal(err)
	}
	first := lastUsed()
	if first == nil {
		t.Fatal("Authenticate did not record the use")
	}
	if _, err := store.Authenticate(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if second := lastUsed(); !second.Equal(*first) {
		t.Errorf("last_used_at moved from %v to %v within a minute", first, second)
	}

	// A use older than a minute is refreshed.
	db.Exec("UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = ?", acct.APIKeyID)
	if _, err := store.Authenticate(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if third := lastUsed(); time.Since(*third) > 30*time.Second {
		t.Errorf("last_used_at = %v, want refreshed", third)
	}
}

func TestAuthenticateRefusesWrongAndRevokedKeys(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	acct := newAccount(t, db, domain.PlanFree)

	_, otherHash := domain.NewAPIToken()
	for name, hash := range map[string]string{"unknown": otherHash, "empty": "", "plaintext": acct.Token} {
		if _, err := store.Authenticate(ctx, hash); !errors.Is(err, domain.ErrUnauthorized) {
			t.Errorf("Authenticate(%s) = %v, want ErrUnauthorized", name, err)
		}
	}

	if err := db.Exec("UPDATE api_keys SET revoked_at = now() WHERE id = ?", acct.APIKeyID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := store.Authenticate(ctx, domain.HashAPIToken(acct.Token)); !errors.Is(err, domain.ErrUnauthorized) {
		t.Errorf("Authenticate(revoked) = %v, want ErrUnauthorized", err)
	}
}

func TestBootstrapReusesTheUserByEmailWhateverTheCase(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)

	// Concurrent bootstraps for one person (in different cases) end with
	// one user in every team, not a unique-violation.
	const n = 5
	results := make([]domain.BootstrapResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, hash := domain.NewAPIToken()
			email := "Grace@Example.com"
			if i%2 == 1 {
				email = "grace@example.COM"
			}
			res, err := store.Bootstrap(ctx, domain.BootstrapInput{
				TeamName: "Team", Plan: domain.PlanGrowth, UserEmail: email, UserName: "Grace", TokenHash: hash, AttachExistingUser: true,
			})
			if err != nil {
				t.Errorf("Bootstrap %d: %v", i, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.UserID != results[0].UserID {
			t.Errorf("bootstrap %d made user %s, bootstrap 0 made %s", i, r.UserID, results[0].UserID)
		}
		if ok, err := store.IsMember(ctx, r.UserID, r.TeamID); err != nil || !ok {
			t.Errorf("IsMember(bootstrap %d) = %v, %v; want true", i, ok, err)
		}
	}
	if users := countRows(t, db, "SELECT count(*) FROM users"); users != 1 {
		t.Errorf("%d users, want 1", users)
	}
}

func TestBootstrapRefusesBadInputAndLeavesNothing(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	_, hash := domain.NewAPIToken()
	good := domain.BootstrapInput{TeamName: "T", Plan: domain.PlanFree, UserEmail: "a@b.io", UserName: "A", TokenHash: hash}

	cases := map[string]struct {
		edit  func(*domain.BootstrapInput)
		field string
	}{
		"unknown plan": {func(in *domain.BootstrapInput) { in.Plan = "platinum" }, "plan"},
		"empty team":   {func(in *domain.BootstrapInput) { in.TeamName = "  " }, "teamName"},
		"bad email":    {func(in *domain.BootstrapInput) { in.UserEmail = "nobody" }, "email"},
	}
	for name, c := range cases {
		in := good
		c.edit(&in)
		_, err := store.Bootstrap(ctx, in)
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Field != c.field {
			t.Errorf("%s: Bootstrap = %v, want KindInvalid on %s", name, err, c.field)
		}
	}
	// A token hash that is not a SHA-256 hex digest (such as a plaintext
	// token) is refused by the schema, and the transaction leaves no team.
	in := good
	in.TokenHash = "tt_plaintext"
	if _, err := store.Bootstrap(ctx, in); err == nil {
		t.Error("Bootstrap stored a plaintext token")
	}
	if teams := countRows(t, db, "SELECT count(*) FROM teams"); teams != 0 {
		t.Errorf("%d teams left behind by failed bootstraps", teams)
	}
}

func TestIsMember(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	a := newAccount(t, db, domain.PlanFree)
	b := newAccount(t, db, domain.PlanFree)

	cases := []struct {
		name         string
		user, team   string
		wantIsMember bool
	}{
		{"own team", a.UserID, a.TeamID, true},
		{"other team", a.UserID, b.TeamID, false},
		{"unknown team", a.UserID, "team_missing", false},
		{"unknown user", "usr_missing", a.TeamID, false},
	}
	for _, c := range cases {
		got, err := store.IsMember(ctx, c.user, c.team)
		if err != nil || got != c.wantIsMember {
			t.Errorf("%s: IsMember = %v, %v; want %v", c.name, got, err, c.wantIsMember)
		}
	}
}

func TestGetTeamAndUserNotFound(t *testing.T) {
	ctx, _, store := newStore(t, persistence.NewAccountStore)
	if _, err := store.GetTeam(ctx, "team_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetTeam(missing) = %v, want ErrNotFound", err)
	}
	if _, err := store.GetUser(ctx, "usr_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetUser(missing) = %v, want ErrNotFound", err)
	}
	if _, err := store.Eligibility(ctx, "team_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Eligibility(missing) = %v, want ErrNotFound", err)
	}
}

func TestEligibilityForEachPlan(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	for _, plan := range domain.DefaultPlans() {
		acct := newAccount(t, db, plan.Name)
		got, err := store.Eligibility(ctx, acct.TeamID)
		if err != nil {
			t.Fatalf("Eligibility(%s): %v", plan.Name, err)
		}
		want := domain.Eligibility{CurrentCount: 0, MaxAllowed: plan.MaxNumbers, HasSubscription: plan.Paid, PlanName: plan.DisplayName}
		if got != want {
			t.Errorf("Eligibility(%s) = %+v, want %+v", plan.Name, got, want)
		}
	}
}

func TestSyncPlansChangesLimits(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	acct := newAccount(t, db, domain.PlanStarter)

	plans := domain.DefaultPlans()
	for i := range plans {
		if plans[i].Name == domain.PlanStarter {
			plans[i].MaxNumbers = 5
			plans[i].DisplayName = "Starter 5"
		}
	}
	plans = append(plans, domain.Plan{Name: "enterprise", DisplayName: "Enterprise", MaxNumbers: 500, Paid: true})
	if err := store.SyncPlans(ctx, plans); err != nil {
		t.Fatalf("SyncPlans: %v", err)
	}
	// Twice is the same as once.
	if err := store.SyncPlans(ctx, plans); err != nil {
		t.Fatalf("SyncPlans again: %v", err)
	}
	got, err := store.Eligibility(ctx, acct.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxAllowed != 5 || got.PlanName != "Starter 5" {
		t.Errorf("after SyncPlans, Eligibility = %+v, want max 5 on Starter 5", got)
	}
	var max int
	db.Raw("SELECT max_numbers FROM plans WHERE name = 'enterprise'").Find(&max)
	if max != 500 {
		t.Errorf("new plan max = %d, want 500", max)
	}

	for name, bad := range map[string][]domain.Plan{
		"negative": {{Name: "free", DisplayName: "Free", MaxNumbers: -1}},
		"twice":    {{Name: "free", DisplayName: "Free", MaxNumbers: 1}, {Name: "free", DisplayName: "Free", MaxNumbers: 2}},
		"no name":  {{Name: "", DisplayName: "X", MaxNumbers: 1}},
	} {
		if err := store.SyncPlans(ctx, bad); domain.ErrorKind(err) != domain.KindInvalid {
			t.Errorf("SyncPlans(%s) = %v, want KindInvalid", name, err)
		}
	}
}

func TestPing(t *testing.T) {
	ctx, db := newTestDB(t)
	if err := persistence.NewAccountStore(db).Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestSetPlanChangesEligibility(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	acct := newAccount(t, db, domain.PlanFree)
	if err := store.SetPlan(ctx, acct.TeamID, domain.PlanGrowth); err != nil {
		t.Fatal(err)
	}
	e, err := store.Eligibility(ctx, acct.TeamID)
	if err != nil || e.PlanName != "Growth" || e.MaxAllowed != 10 || !e.HasSubscription {
		t.Fatalf("after SetPlan: %+v, %v", e, err)
	}
	if err := store.SetPlan(ctx, acct.TeamID, "gold"); domain.ErrorKind(err) != domain.KindInvalid {
		t.Fatalf("unknown plan: %v", err)
	}
	if err := store.SetPlan(ctx, "team_missing", domain.PlanGrowth); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown team: %v", err)
	}
}

// TestBootstrapExistingUserOnlyWhenAttached: an existing user's email (in
// any case) is ErrUserExists, leaving nothing behind, unless the input
// asks to attach that user.
func TestBootstrapExistingUserOnlyWhenAttached(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAccountStore)
	first, err := store.Bootstrap(ctx, domain.BootstrapInput{TeamName: "A", Plan: domain.PlanGrowth, UserEmail: "ada@example.com", UserName: "Ada", TokenHash: hashOf(t)})
	if err != nil {
		t.Fatal(err)
	}
	in := domain.BootstrapInput{TeamName: "B", Plan: domain.PlanFree, UserEmail: "ADA@example.com", UserName: "Ada", TokenHash: hashOf(t)}
	if _, err := store.Bootstrap(ctx, in); !errors.Is(err, domain.ErrUserExists) {
		t.Fatalf("Bootstrap with an existing email = %v, want ErrUserExists", err)
	}
	teams, keys := countRows(t, db, "SELECT count(*) FROM teams"), countRows(t, db, "SELECT count(*) FROM api_keys")
	if teams != 1 || keys != 1 {
		t.Fatalf("%d teams and %d keys after the refusal, want 1 and 1", teams, keys)
	}
	in.AttachExistingUser = true
	second, err := store.Bootstrap(ctx, in)
	if err != nil || second.UserID != first.UserID || second.TeamID == first.TeamID {
		t.Fatalf("Bootstrap attaching the user = %+v, %v; want user %s on a new team", second, err, first.UserID)
	}
}
