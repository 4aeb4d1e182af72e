package api

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

// maxAssistantName is the longest assistant name, in characters (not bytes).
const maxAssistantName = 100

type createAssistantRequest struct {
	TeamID string `json:"teamId"`
	Name   string `json:"name"`
}

// assistantJSON is an assistant as the API shows it.
type assistantJSON struct {
	ID        string `json:"id"`
	TeamID    string `json:"teamId"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

type createAssistantResponse struct {
	Success   bool          `json:"success"`
	Assistant assistantJSON `json:"assistant"`
}

type listAssistantsResponse struct {
	Success    bool            `json:"success"`
	Assistants []assistantJSON `json:"assistants"`
	Count      int             `json:"count"`
}

// createAssistant is POST /api/assistants: it adds an assistant to one of
// the caller's teams and answers 201 with it.
func (s *Server) createAssistant(c *fiber.Ctx) error {
	var req createAssistantRequest
	teamID, err := s.decodeTeamRequest(c, &req, &req.TeamID)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	name, err := assistantName(req.Name)
	if err != nil {
		return err
	}
	a, err := s.assistants.CreateAssistant(ctx, domain.Assistant{
		ID:     domain.NewID(domain.PrefixAssistant),
		TeamID: teamID,
		Name:   name,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(createAssistantResponse{Success: true, Assistant: toAssistantJSON(a)})
}

// listAssistants is GET /api/assistants?teamId=…: the team's assistants in
// the order they were created.
func (s *Server) listAssistants(c *fiber.Ctx) error {
	ctx := c.UserContext()
	teamID, err := s.team(c, c.Query("teamId"))
	if err != nil {
		return err
	}
	list, err := s.assistants.ListAssistants(ctx, teamID)
	if err != nil {
		return err
	}
	resp := listAssistantsResponse{Success: true, Assistants: make([]assistantJSON, 0, len(list))}
	for _, a := range list {
		resp.Assistants = append(resp.Assistants, toAssistantJSON(a))
	}
	resp.Count = len(resp.Assistants)
	return c.JSON(resp)
}

// assistantName validates a name: 1 to maxAssistantName characters once
// trimmed, and no control characters (a name is shown on one line).
func assistantName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", domain.Invalid("name", "name is required: the assistant's name, 1 to %d characters.", maxAssistantName)
	case n > maxAssistantName:
		return "", domain.Invalid("name", "name must be at most %d characters, not %d.", maxAssistantName, n)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", domain.Invalid("name", "name must not contain control characters such as line breaks or tabs.")
	}
	return name, nil
}

func toAssistantJSON(a domain.Assistant) assistantJSON {
	return assistantJSON{ID: a.ID, TeamID: a.TeamID, Name: a.Name, CreatedAt: formatTime(a.CreatedAt)}
}

// formatTime writes a timestamp as the API shows every timestamp: ISO 8601
// in UTC, with fractions of a second only when there are any.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
