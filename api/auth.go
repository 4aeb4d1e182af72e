package api

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

const localPrincipal = "principal"

// authenticate requires a bearer API key and puts its principal on the
// request. Any failure is the same 401, so callers cannot probe for keys.
func authenticate(accounts domain.AccountStore) fiber.Handler {
	return func(c *fiber.Ctx) error {
		scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 256 {
			return domain.ErrUnauthorized
		}
		p, err := accounts.Authenticate(c.UserContext(), domain.HashAPIToken(token))
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

func principalOf(c *fiber.Ctx) domain.Principal {
	p, _ := c.Locals(localPrincipal).(domain.Principal)
	return p
}

// requireTeam checks the caller belongs to teamID. A team that does not
// exist gets the same 403 as someone else's, so team ids cannot be probed.
func requireTeam(ctx context.Context, accounts domain.AccountStore, p domain.Principal, field, teamID string) error {
	if teamID == "" {
		return domain.Invalid(field, "%s is required.", field)
	}
	if len(teamID) > 64 || !storableText(teamID) {
		// No team can have such an id (PostgreSQL could not even compare
		// it): the same answer as for a team that does not exist.
		return domain.ErrTeamAccess
	}
	ok, err := accounts.IsMember(ctx, p.UserID, teamID)
	if err != nil {
		return err
	}
	if !ok {
		return domain.ErrTeamAccess
	}
	return nil
}

// team checks the caller belongs to the team named by a request's teamId
// (trimmed), and returns its id.
func (s *Server) team(c *fiber.Ctx, teamID string) (string, error) {
	teamID = strings.TrimSpace(teamID)
	return teamID, requireTeam(c.UserContext(), s.accounts, principalOf(c), "teamId", teamID)
}

// decodeTeamRequest decodes the JSON body into v and returns the team that
// *teamID (a field of v) names once decoded, which the caller must belong
// to (team).
func (s *Server) decodeTeamRequest(c *fiber.Ctx, v any, teamID *string) (string, error) {
	if err := decodeJSON(c, v); err != nil {
		return "", err
	}
	return s.team(c, *teamID)
}

// storableText reports whether s can be a PostgreSQL text value: valid
// UTF-8 without NUL. Query strings can hold anything, and JSON can hold
// "\u0000"; either would fail the query as a database error (a 500).
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
