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
	// AttachExistingUser allows UserEmail to be an existing user's, who
	// then becomes owner of the new team too: every API key of that user
	// reaches it, and the new key reaches every team of theirs. Without it
	// an existing email is ErrUserExists.
	AttachExistingUser bool
}

// BootstrapResult names what Bootstrap created (or found: an existing user
// with the same email, reused and added to the new team when the input
// allows it).
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
	// SetPlan moves the team to a plan; held numbers are kept.
	SetPlan(ctx context.Context, teamID string, plan PlanName) error
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

// NumberListItem is a held (or once held) number as the list shows it, with
// its assistant and buyer joined in.
type NumberListItem struct {
	PhoneNumber
	AssistantName  *string
	CreatedByEmail string
	CreatedByName  string
}

// NumberListQuery selects a page of a team's numbers, newest first.
type NumberListQuery struct {
	TeamID          string
	IncludeReleased bool // also released, expired and failed numbers
	// Limit is the page size; 0 means all numbers.
	Limit int
	// Cursor is the opaque cursor of the previous page's last item ("" for
	// the first page).
	Cursor string
}

// NumberListPage is one page of a team's numbers.
type NumberListPage struct {
	Items []NumberListItem
	// Total counts every number the query matches, across all pages.
	Total int
	// NextCursor is "" on the last page.
	NextCursor string
}

// ActivateNumber is what a settled order tells us about a number.
type ActivateNumber struct {
	ID               string
	ProviderNumberID string
	ProviderOrderID  string
	IsTrial          bool
	TrialExpiresAt   *time.Time
}

// PhoneNumberStore is the port to the phone numbers teams hold. Every write
// is idempotent, so the activities that call them can be retried.
type PhoneNumberStore interface {
	// CreatePending records a number being bought; creating the same ID
	// again returns the existing record. A live record of the same E.164
	// (another purchase) is a KindConflict error with code
	// number_in_purchase.
	CreatePending(ctx context.Context, n PhoneNumber) (PhoneNumber, error)
	// Activate marks a pending number active (or returns it unchanged when
	// it already is).
	Activate(ctx context.Context, a ActivateNumber) (PhoneNumber, error)
	// SetProviderOrder records the order placed for a pending number.
	SetProviderOrder(ctx context.Context, id, orderID string) error
	// MarkOrderAttempt records, once, that the pending number's order is
	// about to be placed: first is true for the call that recorded it,
	// false when an earlier attempt did (and may have placed the order).
	MarkOrderAttempt(ctx context.Context, id string) (first bool, err error)
	// End moves a number to a final status (released, expired or failed),
	// setting released_at; ending an ended number changes nothing.
	End(ctx context.Context, id string, status NumberStatus) (PhoneNumber, error)
	// Fail ends a live number as failed with the code of the failure
	// (PhoneNumber.FailureReason); failing an ended number changes nothing.
	Fail(ctx context.Context, id, reason string) (PhoneNumber, error)
	// SetRequirements records what a pending regulated purchase waits on
	// (nil clears it); Activate clears it too.
	SetRequirements(ctx context.Context, id string, r *PendingRequirements) (PhoneNumber, error)
	// ConvertTrial makes a trial number a paid one (is_trial false, no expiry).
	ConvertTrial(ctx context.Context, id string) (PhoneNumber, error)
	// Get returns a team's number, or ErrNotFound (also for another team's).
	Get(ctx context.Context, teamID, id string) (PhoneNumber, error)
	// List returns a page of a team's numbers in one query (plus one count).
	List(ctx context.Context, q NumberListQuery) (NumberListPage, error)
	// AssignAssistant assigns the number to the assistant of the same team
	// (moving it from any other); a nil assistantID unassigns it.
	AssignAssistant(ctx context.Context, teamID, numberID string, assistantID *string) (PhoneNumber, error)
	// ListLive returns up to limit live (pending and active) numbers of
	// every team, ordered by E.164 number, starting after the number after
	// ("" for the first page). Reconciliation with the provider pages
	// through it.
	ListLive(ctx context.Context, after string, limit int) ([]PhoneNumber, error)
	// LiveByNumber returns the live record of an E.164 number, or
	// ErrNotFound when no team holds it.
	LiveByNumber(ctx context.Context, e164 string) (PhoneNumber, error)
	// LiveAmong returns which of the E.164 numbers some team holds live,
	// in one query (search leaves them out).
	LiveAmong(ctx context.Context, e164s []string) (map[string]bool, error)
}

// IdempotencyClaim is what an Idempotency-Key stands for.
type IdempotencyClaim struct {
	TeamID      string
	Key         string
	RequestHash string // a hash of the request's method, path and body
	// Target is what the first request started (a workflow and update id).
	Target string
	// ResponseStatus and ResponseBody are the first request's final answer
	// (0 and nil until it has one).
	ResponseStatus int
	ResponseBody   []byte
}

// IdempotencyStore remembers Idempotency-Keys per team.
type IdempotencyStore interface {
	// Claim records the key for the request, or returns the claim made by
	// the first request with this key. The caller compares RequestHash: the
	// same key with another body is an error for the client.
	Claim(ctx context.Context, c IdempotencyClaim) (IdempotencyClaim, error)
	// SaveResponse keeps the final answer to the key's first request.
	SaveResponse(ctx context.Context, teamID, key string, status int, body []byte) error
	// Answered returns the team's claim of key when it still counts and
	// holds a kept answer (ok false otherwise). A read that claims nothing:
	// a replay is found without the write Claim makes.
	Answered(ctx context.Context, teamID, key string) (c IdempotencyClaim, ok bool, err error)
}
