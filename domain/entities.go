package domain

import "time"

// Team is a customer account; numbers belong to teams.
type Team struct {
	ID        string
	Name      string
	Plan      PlanName
	CreatedAt time.Time
}

// User is a person who calls the API with an API key.
type User struct {
	ID        string
	Email     string
	Name      string
	CreatedAt time.Time
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID   string
	APIKeyID string
}

// Assistant is a voice-AI assistant; a number is assigned to at most one.
type Assistant struct {
	ID        string
	TeamID    string
	Name      string
	CreatedAt time.Time
}

// NumberStatus is where a held number is in its life.
type NumberStatus string

// Number states. Pending and active numbers count against the plan.
const (
	NumberPending  NumberStatus = "pending"
	NumberActive   NumberStatus = "active"
	NumberReleased NumberStatus = "released"
	NumberExpired  NumberStatus = "expired"
	NumberFailed   NumberStatus = "failed"
)

// Live reports whether a number in this state is held (and counts against
// the plan).
func (s NumberStatus) Live() bool { return s == NumberPending || s == NumberActive }

// PhoneNumber is a number a team holds or held.
type PhoneNumber struct {
	ID               string
	TeamID           string
	PhoneNumber      string
	Provider         string
	ProviderNumberID string
	ProviderOrderID  string
	ConnectionID     string
	Status           NumberStatus
	IsTrial          bool
	TrialExpiresAt   *time.Time
	AssistantID      *string
	CreatedByUserID  string
	WorkflowID       string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ReleasedAt       *time.Time
	// Requirements is set while a regulated purchase waits on documents.
	Requirements *PendingRequirements
	// FailureReason says why a failed purchase failed (an error code such
	// as requirements_deadline_passed); empty otherwise.
	FailureReason string
}
