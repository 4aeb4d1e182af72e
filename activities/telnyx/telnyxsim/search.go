package telnyxsim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Search limits: Telnyx documents no maximum; the simulator's stock of one
// query ends at poolSize anyway.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 1000
)

// searchRequest is a parsed GET /v2/available_phone_numbers.
type searchRequest struct {
	stock    stockQuery
	features []string
	limit    int
}

func (s *Simulator) handleSearch(w http.ResponseWriter, r *http.Request, _ string) {
	req, apiErr := parseSearch(r.URL.Query())
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	data := []availableNumberJSON{}
	feats := featuresOf(req.stock.region, req.stock.kind)
	if !containsAll(feats, req.features) {
		// Every number of a kind has the same features: none will match.
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": searchMetaJSON{}})
		return
	}
	st := s.inv.stream(req.stock)
	for want := req.limit; ; {
		stock, dry := st.upTo(want)
		data = s.available(stock, feats, req.limit)
		if len(data) >= req.limit || dry {
			break
		}
		// Some of the stock is owned or sold: draw as many more as missing.
		want = len(stock) + req.limit - len(data)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": searchMetaJSON{TotalResults: len(data), BestEffortResults: 0},
	})
}

// available renders up to limit numbers of stock that are neither owned
// nor sold.
func (s *Simulator) available(stock []listing, feats []string, limit int) []availableNumberJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.settle(now)
	s.forgetStaleOffers(now)
	data := []availableNumberJSON{}
	for _, l := range stock {
		if len(data) == limit {
			break
		}
		if s.sold[l.e164] || s.live[l.e164] != nil {
			continue // bought by us or by someone else
		}
		data = append(data, availableJSON(l, feats))
		s.offered[l.e164] = now // orderable until the search TTL passes
	}
	return data
}

// maxOffers is how many offered numbers are remembered before the stale
// ones are forgotten: a load test searches a lot.
const maxOffers = 100_000

// forgetStaleOffers drops offers older than the search TTL once there are
// many. The caller holds s.mu.
func (s *Simulator) forgetStaleOffers(now time.Time) {
	if len(s.offered) < maxOffers {
		return
	}
	for e164, at := range s.offered {
		if now.Sub(at) > s.searchTTL {
			delete(s.offered, e164)
		}
	}
}

// parseSearch reads the deepObject filters of a search, refusing what
// Telnyx refuses.
func parseSearch(q url.Values) (searchRequest, *apiError) {
	fail := func(e apiError) (searchRequest, *apiError) { return searchRequest{}, &e }

	country := q.Get("filter[country_code]")
	if country == "" {
		return fail(apiError{status: http.StatusUnprocessableEntity, code: CodeMissingParameter, title: "Missing required parameter",
			detail: "filter[country_code] is required.", parameter: "filter[country_code]"})
	}
	country = strings.ToUpper(country)
	if len(country) != 2 || !phonenumbers.GetSupportedRegions()[country] {
		return fail(invalidParameter("filter[country_code]", "filter[country_code] must be an ISO 3166-1 alpha-2 country code."))
	}

	kind := q.Get("filter[phone_number_type]")
	if kind == "" {
		kind = kindLocal
	}
	if _, ok := kindTypes[kind]; !ok {
		return fail(invalidParameter("filter[phone_number_type]",
			"filter[phone_number_type] must be one of local, toll_free, mobile, national, shared_cost."))
	}

	req := searchRequest{limit: defaultSearchLimit, stock: stockQuery{
		region:    country,
		kind:      kind,
		locality:  strings.ToLower(strings.TrimSpace(q.Get("filter[locality]"))),
		adminArea: strings.ToLower(strings.TrimSpace(q.Get("filter[administrative_area]"))),
	}}
	if req.stock.locality == "" {
		req.stock.locality = strings.ToLower(strings.TrimSpace(q.Get("filter[rate_center]")))
	}

	digitParams := []struct {
		name string
		dst  *string
	}{
		{"filter[national_destination_code]", &req.stock.ndc},
		{"filter[phone_number][starts_with]", &req.stock.startsWith},
		{"filter[phone_number][contains]", &req.stock.contains},
		{"filter[phone_number][ends_with]", &req.stock.endsWith},
	}
	// Digits only: Telnyx matches these against the national number, so
	// a "+" (or a country code, see matchesPatterns) finds nothing.
	for _, p := range digitParams {
		v := q.Get(p.name)
		if v != "" && (len(v) > 15 || strings.Trim(v, "0123456789") != "") {
			return fail(invalidParameter(p.name, p.name+" must be digits only, without the country code."))
		}
		*p.dst = v
	}

	if v := q.Get("filter[limit]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail(badParameter("filter[limit]", "filter[limit] must be a positive integer."))
		}
		req.limit = min(n, maxSearchLimit)
	}

	// Telnyx's SDK sends one comma-separated filter[features]=sms,voice.
	// For a parameter it does not know Telnyx may well answer as if it
	// were absent, but a simulator doing so would let a client that
	// misspells a filter (the old filter[features][]=sms, say) pass every
	// test with its filter silently dropped: unknown parameters are
	// refused with 400, naming the parameter, so the mistake is loud.
	for k := range q {
		if !slices.Contains(searchParameters, k) {
			return fail(badParameter(k, k+" is not a filter of this endpoint; features are one comma-separated filter[features]."))
		}
	}
	for _, v := range q["filter[features]"] {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.ToLower(strings.TrimSpace(f))
			if f == "" {
				continue
			}
			if !slices.Contains(knownFeatures, f) {
				return fail(invalidParameter("filter[features]", "filter[features] must be among "+strings.Join(knownFeatures, ", ")+"."))
			}
			req.features = append(req.features, f)
		}
	}
	return req, nil
}

// searchParameters are the query parameters Telnyx documents for
// GET /available_phone_numbers.
var searchParameters = []string{
	"filter[country_code]", "filter[national_destination_code]", "filter[phone_number_type]",
	"filter[features]", "filter[limit]", "filter[locality]", "filter[administrative_area]",
	"filter[rate_center]", "filter[phone_number][starts_with]", "filter[phone_number][ends_with]",
	"filter[phone_number][contains]", "filter[best_effort]", "filter[quickship]",
	"filter[reservable]", "filter[exclude_held_numbers]",
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// availableJSON renders a stocked number as a search result.
func availableJSON(l listing, features []string) availableNumberJSON {
	monthly, upfront := prices(l.region, l.kind)
	out := availableNumberJSON{
		RecordType:        "available_phone_number",
		PhoneNumber:       l.e164,
		Quickship:         true,
		Reservable:        true,
		RegionInformation: []regionInfoJSON{{RegionType: "country_code", RegionName: l.region}},
		CostInformation:   costJSON{UpfrontCost: upfront, MonthlyCost: monthly, Currency: "USD"},
	}
	if l.rateCenter != "" {
		out.RegionInformation = append(out.RegionInformation, regionInfoJSON{RegionType: "rate_center", RegionName: l.rateCenter})
	}
	if l.state != "" {
		out.RegionInformation = append(out.RegionInformation, regionInfoJSON{RegionType: "state", RegionName: l.state})
	}
	if l.locality != "" {
		out.RegionInformation = append(out.RegionInformation, regionInfoJSON{RegionType: "location", RegionName: l.locality})
	}
	for _, f := range features {
		out.Features = append(out.Features, featureJSON{Name: f})
	}
	return out
}
