package telnyx

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// A British number waits for documents; attaching a requirement group puts
// it under review, and after the review the order succeeds while the
// number is provisioned, then active.
func TestAttachRequirementGroup(t *testing.T) {
	clock := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	rec := &recorder{}
	c, _ := simClient(t, telnyxsim.Options{OrderLatency: time.Minute, Clock: clock.Now}, rec.wrap, Config{})
	ctx := context.Background()

	gb, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "GB", Limit: 1})
	if err != nil || len(gb) != 1 {
		t.Fatalf("GB search: %+v, %v", gb, err)
	}
	o, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: gb[0].PhoneNumber, CustomerReference: "ref-gb"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != domain.OrderPending || len(o.SubNumberOrderIDs) != 1 || o.Numbers[0].RequirementsStatus != domain.RequirementsInfoPending ||
		len(o.Numbers[0].Requirements) == 0 {
		t.Fatalf("regulated order: %+v", o)
	}
	sub := o.SubNumberOrderIDs[0]

	if err := c.AttachRequirementGroup(ctx, sub, "rg-gb"); err != nil {
		t.Fatal(err)
	}
	last := rec.last()
	if last.Method != http.MethodPost || last.URL.Path != "/v2/sub_number_orders/"+sub+"/requirement_group" ||
		string(rec.lastBody()) != `{"requirement_group_id":"rg-gb"}` {
		t.Errorf("sent %s %s %s", last.Method, last.URL.Path, rec.lastBody())
	}
	got, err := c.GetOrder(ctx, o.ID)
	if err != nil || got.Status != domain.OrderPending || got.Numbers[0].RequirementsStatus != domain.RequirementsUnderReview ||
		got.Numbers[0].Requirements[0].FieldValue != "rg-gb" {
		t.Fatalf("under review: %+v, %v", got, err)
	}
	// Attaching again while under review is harmless.
	if err := c.AttachRequirementGroup(ctx, sub, "rg-gb"); err != nil {
		t.Errorf("repeated attach under review: %v", err)
	}

	clock.Advance(time.Minute)
	got, err = c.GetOrder(ctx, o.ID)
	if err != nil || got.Status != domain.OrderSuccess || !got.RequirementsMet || got.Numbers[0].RequirementsStatus != domain.RequirementsApproved {
		t.Fatalf("approved: %+v, %v", got, err)
	}
	owned, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: gb[0].PhoneNumber})
	if err != nil || len(owned) != 1 || owned[0].Status != domain.OwnedNumberStatus("provision-pending") || !owned[0].Status.Held() {
		t.Fatalf("provisioning: %+v, %v", owned, err)
	}
	// A retry after the answer was lost: Telnyx refuses it (settled), the
	// sub-order shows the documents were approved, so it is no error.
	if err := c.AttachRequirementGroup(ctx, sub, "rg-gb"); err != nil {
		t.Errorf("attach to a settled, approved sub-order: %v", err)
	}
	clock.Advance(time.Minute)
	if owned, err = c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: gb[0].PhoneNumber}); err != nil ||
		len(owned) != 1 || owned[0].Status != domain.OwnedActive {
		t.Fatalf("provisioned: %+v, %v", owned, err)
	}
}

func TestAttachRequirementGroupRefusals(t *testing.T) {
	c, _ := simClient(t, telnyxsim.Options{OrderLatency: time.Minute}, nil, Config{})
	ctx := context.Background()

	// A sub-order Telnyx does not know: the documents went nowhere.
	err := c.AttachRequirementGroup(ctx, "00000000-0000-4000-8000-000000000000", "rg-1")
	if pe := providerError(t, err); !pe.NotFound() || pe.Op != "attach_requirement_group" {
		t.Errorf("unknown sub-order: %+v", pe)
	}

	// A cancelled sub-order takes no documents: the refusal stands.
	de, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "DE", Limit: 1})
	if err != nil || len(de) != 1 {
		t.Fatalf("DE search: %+v, %v", de, err)
	}
	o, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: de[0].PhoneNumber, CustomerReference: "ref-de"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelSubNumberOrder(ctx, o.SubNumberOrderIDs[0]); err != nil {
		t.Fatal(err)
	}
	err = c.AttachRequirementGroup(ctx, o.SubNumberOrderIDs[0], "rg-1")
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != http.StatusUnprocessableEntity {
		t.Errorf("attach to a cancelled sub-order: %+v", pe)
	}

	// Empty IDs never reach Telnyx.
	for _, ids := range [][2]string{{"", "rg-1"}, {"sub", ""}} {
		if pe := providerError(t, c.AttachRequirementGroup(ctx, ids[0], ids[1])); pe.HTTPStatus != 0 || pe.Class != domain.ProviderRejected {
			t.Errorf("%q: %+v", ids, pe)
		}
	}
}
