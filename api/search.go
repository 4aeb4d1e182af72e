package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

type searchRequest struct {
	Filters *searchFilters `json:"filters"`
	// TeamID, optional (the seed's search names no team), has the search
	// checked against the team and counted in its rate limit.
	TeamID *string `json:"teamId"`
}

type searchFilters struct {
	CountryCode        string   `json:"countryCode"`
	AreaCode           string   `json:"areaCode"`
	NumberType         string   `json:"numberType"`
	Limit              *int     `json:"limit"`
	Locality           string   `json:"locality"`
	AdministrativeArea string   `json:"administrativeArea"`
	StartsWith         string   `json:"startsWith"`
	Contains           string   `json:"contains"`
	EndsWith           string   `json:"endsWith"`
	Features           []string `json:"features"`
}

type availableNumber struct {
	PhoneNumber  string   `json:"phoneNumber"`
	MonthlyPrice string   `json:"monthlyPrice"`
	SetupPrice   string   `json:"setupPrice"`
	Features     []string `json:"features"`
}

type searchResponse struct {
	Success  bool              `json:"success"`
	Numbers  []availableNumber `json:"numbers"`
	Provider string            `json:"provider"`
	Count    int               `json:"count"`
}

// search is POST /api/phone-numbers/search: it asks the provider for
// available numbers. The whole call is bounded by searchTimeout, so a slow
// provider gets a 504, never a hang.
func (s *Server) search(c *fiber.Ctx) error {
	var req searchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Filters == nil {
		return domain.Invalid("filters", "filters is required: an object with at least countryCode.")
	}
	f := req.Filters
	filter, err := domain.SearchInput{
		CountryCode: f.CountryCode, AreaCode: f.AreaCode, NumberType: f.NumberType, Limit: f.Limit,
		Locality: f.Locality, AdministrativeArea: f.AdministrativeArea,
		StartsWith: f.StartsWith, Contains: f.Contains, EndsWith: f.EndsWith, Features: f.Features,
	}.Validate()
	if err != nil {
		return err
	}
	teamID := ""
	if req.TeamID != nil {
		if teamID, err = s.team(c, *req.TeamID); err != nil {
			return err
		}
	}
	if err := s.rateLimit(c, limitSearch, teamID); err != nil {
		return err
	}
	// While Telnyx is known to be down or throttling us, answer at once
	// rather than wait out the search budget and spend the shared limit.
	if err := s.probe.unavailable(); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.SearchTimeout)
	defer cancel()
	found, err := s.provider.SearchAvailable(ctx, filter)
	if err != nil {
		s.probe.observe(err)
		return err
	}
	// Telnyx still offers a number whose record some team holds when that
	// record outlived its purchase's workflow (terminated, or Temporal's
	// dev state deleted): buying it would fail, so it is left out. One
	// indexed query for the page.
	offered := make([]string, 0, len(found))
	for _, n := range found {
		offered = append(offered, n.PhoneNumber)
	}
	held, err := s.numbers.LiveAmong(ctx, offered)
	if err != nil {
		return err
	}
	resp := searchResponse{Success: true, Numbers: make([]availableNumber, 0, len(found)), Provider: domain.ProviderName}
	for _, n := range found {
		// A best-effort result is a near match (another area code, say):
		// showing it as an answer to the filter would mislead.
		if n.BestEffort || held[n.PhoneNumber] {
			continue
		}
		features := n.Features
		if features == nil {
			features = []string{}
		}
		resp.Numbers = append(resp.Numbers, availableNumber{PhoneNumber: n.PhoneNumber, MonthlyPrice: n.MonthlyPrice, SetupPrice: n.SetupPrice, Features: features})
		if len(resp.Numbers) == filter.Limit {
			break
		}
	}
	resp.Count = len(resp.Numbers)
	return c.JSON(resp)
}

// defaultSearchTimeout bounds a search end to end, retries included.
const defaultSearchTimeout = 15 * time.Second
