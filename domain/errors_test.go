package domain_test

import (
	"testing"

	"github.com/talkturo/phonenumbers/domain"
)

// TestRegistryNamesEachCodeOnce: one entry per code, every internal code
// shown as a public one with that code's kind, and every entry found by
// LookupCode.
func TestRegistryNamesEachCodeOnce(t *testing.T) {
	codes := domain.Codes()
	seen := map[string]bool{}
	for _, c := range codes {
		if c.Code == "" || seen[c.Code] {
			t.Fatalf("code %q is registered twice or empty", c.Code)
		}
		seen[c.Code] = true
		got, ok := domain.LookupCode(c.Code)
		if !ok || got != c {
			t.Errorf("LookupCode(%s) = %+v, %v; want %+v", c.Code, got, ok, c)
		}
		if c.IsPublic() {
			continue
		}
		shown, ok := domain.LookupCode(c.Public)
		if !ok || !shown.IsPublic() || shown.Kind != c.Kind {
			t.Errorf("internal code %s is shown as %s (%+v), which is no public code of its kind %v", c.Code, c.Public, shown, c.Kind)
		}
	}
	if _, ok := domain.LookupCode("no_such_code"); ok {
		t.Error("LookupCode found a code nobody registered")
	}
	codes[0].Code = "changed"
	if domain.Codes()[0].Code == "changed" {
		t.Error("Codes hands out the registry itself")
	}
}

// TestMessagesOfTheirCode: the constructors used on both sides of Temporal
// carry their code and kind, and name the number.
func TestMessagesOfTheirCode(t *testing.T) {
	for _, e := range []*domain.Error{domain.NumberInPurchase("+14155550100"), domain.NumberStillBeingBought(), domain.NumberNotHeld(), domain.Internal(nil)} {
		info, ok := domain.LookupCode(e.Code)
		if !ok || !info.IsPublic() || info.Kind != e.Kind || e.Message == "" {
			t.Errorf("%+v does not match its registered code %+v", e, info)
		}
	}
	if got := domain.NumberInPurchase("+14155550100").Message; got != "Another team is buying +14155550100 right now." {
		t.Errorf("NumberInPurchase says %q", got)
	}
}
