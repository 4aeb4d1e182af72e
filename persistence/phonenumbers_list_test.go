package persistence_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestGetIsScopedToTheTeam(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)
	n := newActive(t, store, a, "+14155550108")

	if got, err := store.Get(ctx, a.TeamID, n.ID); err != nil || !sameNumber(got, n) {
		t.Errorf("Get(own) = %+v, %v; want %+v", got, err, n)
	}
	if _, err := store.Get(ctx, b.TeamID, n.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get(other team's) = %v, want ErrNotFound", err)
	}
	for _, id := range []string{"pn_missing", "pn_\xff", "pn_\x00"} {
		if _, err := store.Get(ctx, a.TeamID, id); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestListNewestFirstWithAssistantAndBuyer(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)
	buyer, err := persistence.NewAccountStore(db).GetUser(ctx, a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	front := newAssistant(t, db, a.TeamID, "Front desk")

	oldest := newActive(t, store, a, "+14155550111")
	released := newActive(t, store, a, "+14155550112")
	assigned := newActive(t, store, a, "+14155550113")
	pending := newPending(t, store, a, "+14155550114")
	newActive(t, store, b, "+14155550115") // another team's
	if _, err := store.End(ctx, released.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AssignAssistant(ctx, a.TeamID, assigned.ID, &front.ID); err != nil {
		t.Fatal(err)
	}

	page, err := store.List(ctx, domain.NumberListQuery{TeamID: a.TeamID})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got, want := listIDs(page), []string{pending.ID, assigned.ID, oldest.ID}; !equalIDs(got, want) {
		t.Errorf("List = %v, want %v (pending and active, newest first)", got, want)
	}
	if page.Total != 3 || page.NextCursor != "" {
		t.Errorf("List total %d, next cursor %q; want 3 and none", page.Total, page.NextCursor)
	}
	for _, it := range page.Items {
		if it.CreatedByEmail != buyer.Email || it.CreatedByName != buyer.Name || it.TeamID != a.TeamID {
			t.Errorf("item %s: buyer %q %q, want %q %q", it.ID, it.CreatedByEmail, it.CreatedByName, buyer.Email, buyer.Name)
		}
		switch it.ID {
		case assigned.ID:
			if it.AssistantID == nil || *it.AssistantID != front.ID || it.AssistantName == nil || *it.AssistantName != "Front desk" {
				t.Errorf("assigned item = %+v, want assistant %s Front desk", it, front.ID)
			}
			if it.Status != domain.NumberActive || it.ProviderNumberID == "" || it.PhoneNumber.PhoneNumber != "+14155550113" {
				t.Errorf("assigned item = %+v", it)
			}
		default:
			if it.AssistantID != nil || it.AssistantName != nil {
				t.Errorf("unassigned item %s has assistant %v %v", it.ID, it.AssistantID, it.AssistantName)
			}
		}
	}

	all, err := store.List(ctx, domain.NumberListQuery{TeamID: a.TeamID, IncludeReleased: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listIDs(all), []string{pending.ID, assigned.ID, released.ID, oldest.ID}; !equalIDs(got, want) || all.Total != 4 {
		t.Errorf("List(includeReleased) = %v total %d, want %v total 4", got, all.Total, want)
	}

	empty, err := store.List(ctx, domain.NumberListQuery{TeamID: "team_without_numbers", Limit: 10})
	if err != nil || empty.Items == nil || len(empty.Items) != 0 || empty.Total != 0 || empty.NextCursor != "" {
		t.Errorf("List(no numbers) = %+v, %v; want an empty page", empty, err)
	}
}

func TestListPaginatesWithoutGapsOrDuplicates(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanScale)

	// Groups of three share a creation time, so the cursor must break ties
	// by id.
	base := time.Date(2026, 11, 27, 12, 0, 0, 123456000, time.UTC)
	const count = 25
	for i := range count {
		n := pendingNumber(acct, fmt.Sprintf("+1415555%04d", 200+i))
		n.CreatedAt = base.Add(time.Duration(i/3) * time.Second)
		if _, err := store.CreatePending(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != count || all.Total != count || all.NextCursor != "" {
		t.Fatalf("List(limit 0) = %d items, total %d, cursor %q; want all %d", len(all.Items), all.Total, all.NextCursor, count)
	}
	for i := 1; i < count; i++ {
		prev, cur := all.Items[i-1], all.Items[i]
		if cur.CreatedAt.After(prev.CreatedAt) || (cur.CreatedAt.Equal(prev.CreatedAt) && cur.ID > prev.ID) {
			t.Errorf("items %d and %d are not newest first: %s %s then %s %s", i-1, i, prev.CreatedAt, prev.ID, cur.CreatedAt, cur.ID)
		}
	}

	var paged []string
	cursor := ""
	pages := 0
	for {
		page, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatalf("List(page %d): %v", pages+1, err)
		}
		pages++
		if page.Total != count {
			t.Errorf("page %d: total %d, want %d", pages, page.Total, count)
		}
		paged = append(paged, listIDs(page)...)
		if page.NextCursor == "" {
			if len(page.Items) != 5 {
				t.Errorf("last page has %d items, want 5", len(page.Items))
			}
			break
		}
		if len(page.Items) != 10 {
			t.Errorf("page %d has %d items, want 10", pages, len(page.Items))
		}
		if pages > 3 {
			t.Fatal("more than 3 pages of 10 for 25 numbers")
		}
		cursor = page.NextCursor
	}
	if pages != 3 || !equalIDs(paged, listIDs(all)) {
		t.Errorf("%d pages listed %v, want 3 pages listing %v", pages, paged, listIDs(all))
	}

	// A page of exactly the remaining numbers has no next page.
	exact, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, Limit: count})
	if err != nil || len(exact.Items) != count || exact.NextCursor != "" {
		t.Errorf("List(limit %d) = %d items, cursor %q, %v; want all and no cursor", count, len(exact.Items), exact.NextCursor, err)
	}
}

func TestListRefusesMalformedCursorsAndLimits(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanGrowth)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	for _, cursor := range []string{
		"!!not base64!!",
		b64("no separator"),
		b64("2026-11-27T12:00:00Z|"),
		b64("yesterday|pn_01"),
		b64("2026-11-27T12:00:00Z") + "=",   // padded, which List never makes
		b64("2026-11-27T12:00:00Z|pn_\xff"), // not UTF-8
		b64("2026-11-27T12:00:00Z|pn_\x00"),
	} {
		_, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, Cursor: cursor})
		if de := wantError(t, "cursor "+cursor, err, domain.KindInvalid, domain.CodeInvalidRequest); de.Field != "cursor" {
			t.Errorf("cursor %q: field %q, want cursor", cursor, de.Field)
		}
	}
	if _, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, Limit: -1}); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("List(limit -1) = %v, want KindInvalid", err)
	}
}

func TestListReadsEachPageInOneQuery(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanScale)
	// Every number with its own assistant: a query per item (N+1) would
	// show as more statements per page.
	for i := range 12 {
		n := newActive(t, store, acct, fmt.Sprintf("+1415555%04d", 300+i))
		asst := newAssistant(t, db, acct.TeamID, fmt.Sprintf("Assistant %d", i))
		if _, err := store.AssignAssistant(ctx, acct.TeamID, n.ID, &asst.ID); err != nil {
			t.Fatal(err)
		}
	}

	// Every statement GORM runs goes through one of these processors.
	var (
		mu         sync.Mutex
		statements []string
		counting   atomic.Bool
	)
	record := func(tx *gorm.DB) {
		if counting.Load() {
			mu.Lock()
			statements = append(statements, tx.Statement.SQL.String())
			mu.Unlock()
		}
	}
	cb := db.Callback()
	for name, err := range map[string]error{
		"query": cb.Query().After("gorm:query").Register("test:count_query", record),
		"row":   cb.Row().After("gorm:row").Register("test:count_row", record),
		"raw":   cb.Raw().After("gorm:raw").Register("test:count_raw", record),
	} {
		if err != nil {
			t.Fatalf("registering the %s callback: %v", name, err)
		}
	}

	cursor := ""
	for page := 1; ; page++ {
		mu.Lock()
		statements = nil
		mu.Unlock()
		counting.Store(true)
		got, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, Limit: 5, Cursor: cursor})
		counting.Store(false)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range got.Items {
			if it.AssistantName == nil {
				t.Errorf("page %d: item %s lacks its assistant's name", page, it.ID)
			}
		}
		mu.Lock()
		n, joined := len(statements), len(statements) > 0 && strings.Contains(statements[0], "JOIN assistants")
		mu.Unlock()
		if n != 2 || !joined {
			t.Errorf("page %d ran %d statements, want the joined page query and the count: %q", page, n, statements)
		}
		if got.NextCursor == "" {
			if page != 3 {
				t.Errorf("%d pages of 5 for 12 numbers, want 3", page)
			}
			break
		}
		cursor = got.NextCursor
	}
}

func listIDs(p domain.NumberListPage) []string {
	ids := make([]string, 0, len(p.Items))
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]bool, len(a))
	for i := range a {
		if a[i] != b[i] || seen[a[i]] {
			return false
		}
		seen[a[i]] = true
	}
	return true
}
