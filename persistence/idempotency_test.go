package persistence_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestClaimKeepsTheFirstClaim(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	first := domain.IdempotencyClaim{TeamID: a.TeamID, Key: "key-1", RequestHash: "hash-1", Target: "purchase/+14155550101/update-1"}
	got, err := store.Claim(ctx, first)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("Claim = %+v, %v; want %+v", got, err, first)
	}
	second := domain.IdempotencyClaim{TeamID: a.TeamID, Key: "key-1", RequestHash: "hash-2", Target: "something else"}
	if got, err := store.Claim(ctx, second); err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("Claim(same key, other request) = %+v, %v; want the first claim %+v", got, err, first)
	}
	// Keys are per team.
	other := domain.IdempotencyClaim{TeamID: b.TeamID, Key: "key-1", RequestHash: "hash-b", Target: "b"}
	if got, err := store.Claim(ctx, other); err != nil || !reflect.DeepEqual(got, other) {
		t.Errorf("Claim(other team, same key) = %+v, %v; want %+v", got, err, other)
	}

	if _, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: "team_missing", Key: "k", RequestHash: "h"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Claim(missing team) = %v, want ErrNotFound", err)
	}
	for _, key := range []string{"", strings.Repeat("k", 256), "bad\xffkey", "nul\x00key"} {
		if _, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: a.TeamID, Key: key, RequestHash: "h"}); domain.ErrorKind(err) != domain.KindInvalid {
			t.Errorf("Claim(key %q) = %v, want KindInvalid", key, err)
		}
	}
	longest := domain.IdempotencyClaim{TeamID: a.TeamID, Key: strings.Repeat("é", 255), RequestHash: "h"}
	if got, err := store.Claim(ctx, longest); err != nil || !reflect.DeepEqual(got, longest) {
		t.Errorf("Claim(key of 255 characters) = %+v, %v", got, err)
	}
}

func TestConcurrentClaimsShareOneClaim(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	acct := newAccount(t, db, domain.PlanGrowth)

	const callers = 20
	claims := make([]domain.IdempotencyClaim, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			c, err := store.Claim(ctx, domain.IdempotencyClaim{
				TeamID: acct.TeamID, Key: "same-key", RequestHash: fmt.Sprintf("hash-%d", i), Target: fmt.Sprintf("target-%d", i),
			})
			if err != nil {
				t.Errorf("Claim %d: %v", i, err)
			}
			claims[i] = c
		})
	}
	close(start)
	wg.Wait()

	winner := claims[0]
	if !strings.HasPrefix(winner.RequestHash, "hash-") || winner.Target != "target-"+strings.TrimPrefix(winner.RequestHash, "hash-") {
		t.Fatalf("stored claim %+v is not one caller's claim", winner)
	}
	for i, c := range claims {
		if !reflect.DeepEqual(c, winner) {
			t.Errorf("caller %d got %+v, caller 0 got %+v; want one stored claim", i, c, winner)
		}
	}
	if n := countRows(t, db, "SELECT count(*) FROM idempotency_keys WHERE team_id = ?", acct.TeamID); n != 1 {
		t.Errorf("%d stored claims, want 1", n)
	}
}

func TestIdempotencyKeysExpire(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	acct := newAccount(t, db, domain.PlanGrowth)
	claim := func(key, hash string) domain.IdempotencyClaim {
		t.Helper()
		c, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: acct.TeamID, Key: key, RequestHash: hash})
		if err != nil {
			t.Fatalf("Claim(%s): %v", key, err)
		}
		return c
	}
	age := func(key string, d time.Duration) {
		t.Helper()
		err := db.Exec("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => ?) WHERE key = ?", d.Seconds(), key).Error
		if err != nil {
			t.Fatal(err)
		}
	}

	claim("old", "old-hash")
	claim("fresh", "fresh-hash")
	claim("stale", "stale-hash")
	age("old", persistence.IdempotencyKeyTTL+time.Hour)
	age("stale", persistence.IdempotencyKeyTTL+time.Minute)

	// An expired claim no longer stands for its request, purged or not.
	if c := claim("stale", "new-hash"); c.RequestHash != "new-hash" {
		t.Errorf("Claim(expired key) = %+v, want the new request's claim", c)
	}

	purged, err := store.PurgeIdempotencyKeys(ctx)
	if err != nil || purged != 1 {
		t.Fatalf("PurgeIdempotencyKeys = %d, %v; want 1", purged, err)
	}
	if n := countRows(t, db, "SELECT count(*) FROM idempotency_keys WHERE key IN ('fresh', 'stale')"); n != 2 {
		t.Errorf("%d of the fresh claims survived the purge, want 2", n)
	}
	if c := claim("old", "another-hash"); c.RequestHash != "another-hash" {
		t.Errorf("Claim(purged key) = %+v, want a new claim", c)
	}
	if c := claim("fresh", "another-hash"); c.RequestHash != "fresh-hash" {
		t.Errorf("Claim(fresh key) = %+v, want the first claim", c)
	}
}

func TestSaveResponseKeepsTheFirstAnswer(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	teamID := newAccount(t, db, domain.PlanGrowth).TeamID
	c := domain.IdempotencyClaim{TeamID: teamID, Key: "k", RequestHash: "h", Target: "t"}
	if _, err := store.Claim(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveResponse(ctx, teamID, "k", 403, []byte(`{"success":false}`)); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveResponse(ctx, teamID, "k", 200, []byte(`{"success":true}`)); err != nil {
		t.Fatal(err)
	}
	got, err := store.Claim(ctx, c)
	if err != nil || got.ResponseStatus != 403 || string(got.ResponseBody) != `{"success":false}` {
		t.Fatalf("replayed claim = %+v, %v", got, err)
	}
}

// TestAnsweredFindsOnlyKeptAnswers: Answered reads a claim that holds a
// saved response and still counts, and claims nothing itself.
func TestAnsweredFindsOnlyKeptAnswers(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	teamID := newAccount(t, db, domain.PlanGrowth).TeamID
	for _, key := range []string{"answered", "running", "expired"} {
		if _, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: teamID, Key: key, RequestHash: "h-" + key, Target: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"answered", "expired"} {
		if err := store.SaveResponse(ctx, teamID, key, 200, []byte(`{"success":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => ?) WHERE key = 'expired'", (persistence.IdempotencyKeyTTL + time.Minute).Seconds()).Error; err != nil {
		t.Fatal(err)
	}
	c, ok, err := store.Answered(ctx, teamID, "answered")
	if err != nil || !ok || c.ResponseStatus != 200 || string(c.ResponseBody) != `{"success":true}` || c.RequestHash != "h-answered" {
		t.Errorf("Answered(answered) = %+v, %v, %v; want the kept 200", c, ok, err)
	}
	for _, key := range []string{"running", "expired", "never-claimed"} {
		if c, ok, err := store.Answered(ctx, teamID, key); err != nil || ok {
			t.Errorf("Answered(%s) = %+v, %v, %v; want none", key, c, ok, err)
		}
	}
	if n := countRows(t, db, "SELECT count(*) FROM idempotency_keys WHERE key = 'never-claimed'"); n != 0 {
		t.Errorf("Answered claimed the key it looked up")
	}
}
