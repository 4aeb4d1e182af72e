package telnyx

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/talkturo/phonenumbers/domain"
)

// SearchAvailable lists numbers Telnyx offers for sale that match f.
func (c *Client) SearchAvailable(ctx context.Context, f domain.SearchFilter) ([]domain.AvailableNumber, error) {
	var resp searchResponse
	err := c.do(ctx, call{
		op:         "search",
		method:     http.MethodGet,
		path:       "/available_phone_numbers",
		query:      searchQuery(f),
		idempotent: true,
	}, &resp)
	if err != nil {
		return nil, err
	}
	out := make([]domain.AvailableNumber, 0, len(resp.Data))
	for _, n := range resp.Data {
		if n.PhoneNumber == "" {
			continue // nothing anyone could order
		}
		out = append(out, toAvailableNumber(n))
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// searchQuery spells f as Telnyx's deepObject query parameters.
func searchQuery(f domain.SearchFilter) url.Values {
	q := url.Values{}
	q.Set("filter[country_code]", f.CountryCode)
	if t := phoneNumberType(f.NumberType); t != "" {
		q.Set("filter[phone_number_type]", t)
	}
	set := func(key, value string) {
		if value != "" {
			q.Set(key, value)
		}
	}
	set("filter[national_destination_code]", f.AreaCode)
	set("filter[locality]", f.Locality)
	set("filter[administrative_area]", f.AdministrativeArea)
	set("filter[phone_number][starts_with]", f.StartsWith)
	set("filter[phone_number][contains]", f.Contains)
	set("filter[phone_number][ends_with]", f.EndsWith)
	for _, feat := range f.Features {
		q.Add("filter[features][]", feat)
	}
	if f.Limit > 0 {
		q.Set("filter[limit]", strconv.Itoa(f.Limit))
	}
	return q
}

// phoneNumberType translates our number type to Telnyx's: our API says
// "toll-free", Telnyx says "toll_free".
func phoneNumberType(t domain.NumberType) string {
	switch t {
	case "":
		return ""
	case domain.NumberTypeTollFree:
		return "toll_free"
	default:
		return string(t)
	}
}

func toAvailableNumber(n availableNumber) domain.AvailableNumber {
	an := domain.AvailableNumber{
		PhoneNumber:  n.PhoneNumber,
		MonthlyPrice: string(n.CostInformation.MonthlyCost),
		SetupPrice:   string(n.CostInformation.UpfrontCost),
		Currency:     n.CostInformation.Currency,
		BestEffort:   n.BestEffort,
	}
	for _, f := range n.Features {
		if f.Name != "" {
			an.Features = append(an.Features, f.Name)
		}
	}
	// A city ("location") reads better than a rate center, which is a
	// billing area named in capitals; take the rate center only when no
	// location is given.
	var rateCenter string
	for _, r := range n.RegionInformation {
		switch r.RegionType {
		case "location":
			if an.Locality == "" {
				an.Locality = r.RegionName
			}
		case "rate_center":
			if rateCenter == "" {
				rateCenter = r.RegionName
			}
		case "state":
			if an.Region == "" {
				an.Region = r.RegionName
			}
		}
	}
	if an.Locality == "" {
		an.Locality = rateCenter
	}
	return an
}
