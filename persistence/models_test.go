package persistence

import (
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

func TestPhoneNumberRoundTrip(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("UTC+2", 2*3600)
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	expires := created.Add(5 * 24 * time.Hour)
	assistant := "asst_1"
	n := domain.PhoneNumber{
		ID: "pn_1", TeamID: "team_1", PhoneNumber: "+14155550101", Provider: "telnyx",
		ProviderNumberID: "pnid", ProviderOrderID: "ord", ConnectionID: "conn",
		Status: domain.NumberActive, IsTrial: true, TrialExpiresAt: &expires,
		AssistantID: &assistant, CreatedByUserID: "usr_1", WorkflowID: "phone-number:+14155550101",
		CreatedAt: created, UpdatedAt: created,
	}
	m := phoneNumberFromDomain(n)
	// The driver hands times back in the local zone; the domain gets UTC.
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.In(local), m.UpdatedAt.In(local)
	back := m.toDomain()
	if back.CreatedAt.Location() != time.UTC || back.TrialExpiresAt.Location() != time.UTC {
		t.Error("times did not come back in UTC")
	}
	if !back.CreatedAt.Equal(n.CreatedAt) || *back.AssistantID != assistant || back.Status != n.Status ||
		back.ProviderOrderID != n.ProviderOrderID || !back.TrialExpiresAt.Equal(expires) || back.ReleasedAt != nil {
		t.Errorf("round trip = %+v, want %+v", back, n)
	}

	if got := phoneNumberFromDomain(domain.PhoneNumber{}).Provider; got != defaultProvider {
		t.Errorf("default provider = %q, want %q", got, defaultProvider)
	}
}

func TestPlanRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range domain.DefaultPlans() {
		if got := planFromDomain(p).toDomain(); got != p {
			t.Errorf("round trip of %+v = %+v", p, got)
		}
	}
}

func TestPlanLimitMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		row  eligibilityRow
		want string
	}{
		{eligibilityRow{NumbersHeld: 0, TrialUsed: true, MaxNumbers: 1, DisplayName: "Free"}, "already used it"},
		{eligibilityRow{NumbersHeld: 1, TrialUsed: true, MaxNumbers: 1, DisplayName: "Free"}, "this team holds it"},
		{eligibilityRow{NumbersHeld: 3, MaxNumbers: 3, Paid: true, DisplayName: "Starter"}, "allows 3 numbers and this team holds 3"},
	}
	for _, c := range cases {
		err := planLimitError(c.row)
		if err.Kind != domain.KindLimit || err.Code != domain.CodePlanLimitReached {
			t.Errorf("planLimitError kind/code = %v/%s", err.Kind, err.Code)
		}
		if !strings.Contains(err.Message, c.want) {
			t.Errorf("message %q, want it to say %q", err.Message, c.want)
		}
		if _, ok := err.Details["eligibility"].(domain.Eligibility); !ok {
			t.Errorf("details %#v lack the eligibility", err.Details)
		}
	}
}
