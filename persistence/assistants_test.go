package persistence_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestAssistantsCreateListGet(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAssistantStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	if got, err := store.ListAssistants(ctx, a.TeamID); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListAssistants(empty team) = %v, %v; want an empty list", got, err)
	}

	first, err := store.CreateAssistant(ctx, domain.Assistant{TeamID: a.TeamID, Name: " Front desk "})
	if err != nil {
		t.Fatalf("CreateAssistant: %v", err)
	}
	if !strings.HasPrefix(first.ID, domain.PrefixAssistant+"_") || first.Name != "Front desk" || first.CreatedAt.IsZero() || first.TeamID != a.TeamID {
		t.Errorf("CreateAssistant = %+v", first)
	}
	second, err := store.CreateAssistant(ctx, domain.Assistant{TeamID: a.TeamID, Name: "Night line"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAssistant(ctx, domain.Assistant{TeamID: b.TeamID, Name: "Other team's"}); err != nil {
		t.Fatal(err)
	}

	list, err := store.ListAssistants(ctx, a.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Errorf("ListAssistants = %+v, want [%s %s]", list, first.ID, second.ID)
	}

	got, err := store.GetAssistant(ctx, a.TeamID, first.ID)
	if err != nil {
		t.Fatalf("GetAssistant: %v", err)
	}
	if got != first {
		t.Errorf("GetAssistant = %+v, want %+v", got, first)
	}
	if _, err := store.GetAssistant(ctx, b.TeamID, first.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetAssistant(other team) = %v, want ErrNotFound", err)
	}
	if _, err := store.GetAssistant(ctx, a.TeamID, "asst_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetAssistant(missing) = %v, want ErrNotFound", err)
	}
}

func TestCreateAssistantRefusesBadInput(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewAssistantStore)
	a := newAccount(t, db, domain.PlanFree)

	if _, err := store.CreateAssistant(ctx, domain.Assistant{TeamID: a.TeamID, Name: "  "}); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("CreateAssistant(no name) = %v, want KindInvalid", err)
	}
	if _, err := store.CreateAssistant(ctx, domain.Assistant{TeamID: "team_missing", Name: "X"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("CreateAssistant(missing team) = %v, want ErrNotFound", err)
	}
}
