package telnyx

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
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
	set("filter[phone_number][starts_with]", startsWithPattern(f))
	set("filter[phone_number][contains]", digitsOnly(f.Contains))
	set("filter[phone_number][ends_with]", digitsOnly(f.EndsWith))
	if len(f.Features) > 0 {
		// Telnyx's SDK sends one comma-separated value; that is the
		// spelling its API is sure to read.
		q.Set("filter[features]", strings.Join(f.Features, ","))
	}
	if f.Limit > 0 {
		q.Set("filter[limit]", strconv.Itoa(f.Limit))
	}
	return q
}

// startsWithPattern turns our starts-with pattern into Telnyx's, which
// is matched against the national number (after the area code when one
// is given), never against the country code. Our API takes the pattern
// with or without a leading "+" (domain.SearchInput.Validate drops it), so
// users paste the start of an E.164 number: "1415555" or "+44207". The
// country's calling code is therefore dropped when the pattern begins
// with it, and then the area code when the search names one and the
// pattern repeats it. The price: a pattern for a national number that
// happens to begin with the calling code's digits (a German "49…") is
// read as an E.164 start; it still finds numbers, only fewer. Contains and
// ends-with patterns keep their digits as given: a country code has no
// place in the middle or at the end of a number.
func startsWithPattern(f domain.SearchFilter) string {
	p := digitsOnly(f.StartsWith)
	if p == "" {
		return ""
	}
	if cc := phonenumbers.GetCountryCodeForRegion(f.CountryCode); cc != 0 {
		if ccs := strconv.Itoa(cc); strings.HasPrefix(p, ccs) && len(p) > len(ccs) {
			p = p[len(ccs):]
		}
	}
	if f.AreaCode != "" && strings.HasPrefix(p, f.AreaCode) {
		// A pattern that is the area code alone ("415", or "1415" once the
		// calling code is gone) asks for nothing the area code does not:
		// sent on, Telnyx would match it after the area code and find
		// only 415-415-xxxx.
		p = p[len(f.AreaCode):]
	}
	return p
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
