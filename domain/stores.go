package domain

import (
	"context"
	"time"
)

// BootstrapInput creates a team, a user in it and an API key for the user.
type BootstrapInput struct {
	TeamName  string
	Plan      PlanName
	UserEmail string
	UserName  string
	// TokenHash is the hash of the API key (see NewAPIToken).
	TokenHash string
	// TokenPrefix is the token's first characters, kept to tell keys apart
	// in listings without storing the secret.
	TokenPrefix string
}

// BootstrapResult names what Bootstrap created (or found: an existing user
// with the same email is reused and added to the new team).
type BootstrapResult struct {
	TeamID   string
	UserID   string
	APIKeyID string
}

// AccountStore is the port to teams, users, memberships, plans and API keys.
type AccountStore interface {
	Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error)
	// Authenticate returns the principal owning the token hash, or
	// ErrUnauthorized when no live key has it.
	Authenticate(ctx context.Context, tokenHash string) (Principal, error)
	// IsMember reports whether the user belongs to the team; false (not an
	// error) when the team does not exist.
	IsMember(ctx context.Context, userID, teamID string) (bool, error)
	GetTeam(ctx context.Context, teamID string) (Team, error)
	GetUser(ctx context.Context, userID string) (User, error)
	// Eligibility is what the team holds (pending and active numbers)
	// against its plan.
	Eligibility(ctx context.Context, teamID string) (Eligibility, error)
	// SyncPlans writes the plans and their limits (from configuration).
	SyncPlans(ctx context.Context, plans []Plan) error
	// Ping checks the store answers.
	Ping(ctx context.Context) error
}

// AssistantStore is the port to assistants.
type AssistantStore interface {
	CreateAssistant(ctx context.Context, a Assistant) (Assistant, error)
	ListAssistants(ctx context.Context, teamID string) ([]Assistant, error)
	GetAssistant(ctx context.Context, teamID, id string) (Assistant, error)
}

// Clock tells the time; tests replace it.
type Clock func() time.Time
