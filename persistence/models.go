package persistence

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// The GORM models mirror the tables of migrations/ column by column; the
// migrations, not these structs, define the schema (no AutoMigrate). They
// stay unexported so that other packages go through the domain ports and
// never couple to table layout.

// takeRow reads the one row of the model M that cond selects, on db (the
// pool with the caller's context, or a transaction). A missing row is
// domain.ErrNotFound; any other failure is returned as it is.
func takeRow[M any](db *gorm.DB, cond string, args ...any) (M, error) {
	var m M
	err := db.Take(&m, append([]any{cond}, args...)...).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return *new(M), domain.ErrNotFound
	}
	return m, err
}

type planModel struct {
	Name        string `gorm:"column:name;primaryKey"`
	DisplayName string `gorm:"column:display_name"`
	MaxNumbers  int    `gorm:"column:max_numbers"`
	Paid        bool   `gorm:"column:paid"`
}

func (planModel) TableName() string { return "plans" }

func planFromDomain(p domain.Plan) planModel {
	return planModel{Name: string(p.Name), DisplayName: p.DisplayName, MaxNumbers: p.MaxNumbers, Paid: p.Paid}
}

func (m planModel) toDomain() domain.Plan {
	return domain.Plan{Name: domain.PlanName(m.Name), DisplayName: m.DisplayName, MaxNumbers: m.MaxNumbers, Paid: m.Paid}
}

type teamModel struct {
	ID          string    `gorm:"column:id;primaryKey"`
	Name        string    `gorm:"column:name"`
	PlanName    string    `gorm:"column:plan_name"`
	NumbersHeld int       `gorm:"column:numbers_held;default:0"`
	TrialUsed   bool      `gorm:"column:trial_used;default:false"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

func (teamModel) TableName() string { return "teams" }

func (m teamModel) toDomain() domain.Team {
	return domain.Team{ID: m.ID, Name: m.Name, Plan: domain.PlanName(m.PlanName), CreatedAt: m.CreatedAt.UTC()}
}

type userModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Email     string    `gorm:"column:email"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (userModel) TableName() string { return "users" }

func (m userModel) toDomain() domain.User {
	return domain.User{ID: m.ID, Email: m.Email, Name: m.Name, CreatedAt: m.CreatedAt.UTC()}
}

// roleOwner is the role of the user who creates a team.
const roleOwner = "owner"

type membershipModel struct {
	TeamID    string    `gorm:"column:team_id;primaryKey"`
	UserID    string    `gorm:"column:user_id;primaryKey"`
	Role      string    `gorm:"column:role"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (membershipModel) TableName() string { return "team_memberships" }

type apiKeyModel struct {
	ID          string     `gorm:"column:id;primaryKey"`
	UserID      string     `gorm:"column:user_id"`
	TokenHash   string     `gorm:"column:token_hash"`
	TokenPrefix string     `gorm:"column:token_prefix"`
	Name        string     `gorm:"column:name"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	LastUsedAt  *time.Time `gorm:"column:last_used_at"`
	RevokedAt   *time.Time `gorm:"column:revoked_at"`
}

func (apiKeyModel) TableName() string { return "api_keys" }

type assistantModel struct {
	ID        string    `gorm:"column:id;primaryKey"`
	TeamID    string    `gorm:"column:team_id"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (assistantModel) TableName() string { return "assistants" }

func assistantFromDomain(a domain.Assistant) assistantModel {
	return assistantModel{ID: a.ID, TeamID: a.TeamID, Name: a.Name, CreatedAt: a.CreatedAt}
}

func (m assistantModel) toDomain() domain.Assistant {
	return domain.Assistant{ID: m.ID, TeamID: m.TeamID, Name: m.Name, CreatedAt: m.CreatedAt.UTC()}
}

type phoneNumberModel struct {
	ID               string     `gorm:"column:id;primaryKey"`
	TeamID           string     `gorm:"column:team_id"`
	PhoneNumber      string     `gorm:"column:phone_number"`
	Provider         string     `gorm:"column:provider"`
	ProviderNumberID string     `gorm:"column:provider_number_id"`
	ProviderOrderID  string     `gorm:"column:provider_order_id"`
	ConnectionID     string     `gorm:"column:connection_id"`
	Status           string     `gorm:"column:status"`
	IsTrial          bool       `gorm:"column:is_trial"`
	TrialExpiresAt   *time.Time `gorm:"column:trial_expires_at"`
	AssistantID      *string    `gorm:"column:assistant_id"`
	CreatedByUserID  string     `gorm:"column:created_by_user_id"`
	WorkflowID       string     `gorm:"column:workflow_id"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
	ReleasedAt       *time.Time `gorm:"column:released_at"`
	// Requirements and FailureReason are NULL for most numbers.
	Requirements  *requirementsColumn `gorm:"column:requirements"`
	FailureReason *string             `gorm:"column:failure_reason"`
}

func (phoneNumberModel) TableName() string { return "phone_numbers" }

// requirementsColumn is the JSON of the requirements column: its own
// field names, so that renaming a domain field never changes what stored
// rows mean.
type requirementsColumn struct {
	Status   string              `json:"status"`
	Missing  []requirementColumn `json:"missing"`
	Deadline *time.Time          `json:"deadline,omitempty"`
}

type requirementColumn struct {
	RequirementID string `json:"requirement_id"`
	FieldType     string `json:"field_type"`
	FieldValue    string `json:"field_value,omitempty"`
}

func requirementsFromDomain(r *domain.PendingRequirements) *requirementsColumn {
	if r == nil {
		return nil
	}
	c := &requirementsColumn{Status: string(r.Status), Missing: []requirementColumn{}}
	for _, m := range r.Missing {
		c.Missing = append(c.Missing, requirementColumn{RequirementID: m.RequirementID, FieldType: m.FieldType, FieldValue: m.FieldValue})
	}
	if r.Deadline != nil {
		d := r.Deadline.UTC()
		c.Deadline = &d
	}
	return c
}

func (c *requirementsColumn) toDomain() *domain.PendingRequirements {
	if c == nil {
		return nil
	}
	r := &domain.PendingRequirements{Status: domain.RequirementsStatus(c.Status), Deadline: utcPtr(c.Deadline)}
	for _, m := range c.Missing {
		r.Missing = append(r.Missing, domain.RegulatoryRequirement{RequirementID: m.RequirementID, FieldType: m.FieldType, FieldValue: m.FieldValue})
	}
	return r
}

// Value writes the column as JSON text (the statements cast it to jsonb).
func (c requirementsColumn) Value() (driver.Value, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// Scan reads the column as the driver hands jsonb back: text or bytes.
func (c *requirementsColumn) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = requirementsColumn{}
		return nil
	case []byte:
		return json.Unmarshal(v, c)
	case string:
		return json.Unmarshal([]byte(v), c)
	default:
		return fmt.Errorf("requirements column: cannot scan %T", src)
	}
}

// defaultProvider is the provider of a number that does not name one.
const defaultProvider = "telnyx"

func phoneNumberFromDomain(n domain.PhoneNumber) phoneNumberModel {
	provider := n.Provider
	if provider == "" {
		provider = defaultProvider
	}
	return phoneNumberModel{
		ID:               n.ID,
		TeamID:           n.TeamID,
		PhoneNumber:      n.PhoneNumber,
		Provider:         provider,
		ProviderNumberID: n.ProviderNumberID,
		ProviderOrderID:  n.ProviderOrderID,
		ConnectionID:     n.ConnectionID,
		Status:           string(n.Status),
		IsTrial:          n.IsTrial,
		TrialExpiresAt:   n.TrialExpiresAt,
		AssistantID:      n.AssistantID,
		CreatedByUserID:  n.CreatedByUserID,
		WorkflowID:       n.WorkflowID,
		CreatedAt:        n.CreatedAt,
		UpdatedAt:        n.UpdatedAt,
		ReleasedAt:       n.ReleasedAt,
		Requirements:     requirementsFromDomain(n.Requirements),
		FailureReason:    nonEmpty(n.FailureReason),
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (m phoneNumberModel) toDomain() domain.PhoneNumber {
	return domain.PhoneNumber{
		ID:               m.ID,
		TeamID:           m.TeamID,
		PhoneNumber:      m.PhoneNumber,
		Provider:         m.Provider,
		ProviderNumberID: m.ProviderNumberID,
		ProviderOrderID:  m.ProviderOrderID,
		ConnectionID:     m.ConnectionID,
		Status:           domain.NumberStatus(m.Status),
		IsTrial:          m.IsTrial,
		TrialExpiresAt:   utcPtr(m.TrialExpiresAt),
		AssistantID:      m.AssistantID,
		CreatedByUserID:  m.CreatedByUserID,
		WorkflowID:       m.WorkflowID,
		CreatedAt:        m.CreatedAt.UTC(),
		UpdatedAt:        m.UpdatedAt.UTC(),
		ReleasedAt:       utcPtr(m.ReleasedAt),
		Requirements:     m.Requirements.toDomain(),
		FailureReason:    derefString(m.FailureReason),
	}
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type reservationModel struct {
	ID          string     `gorm:"column:id;primaryKey"`
	TeamID      string     `gorm:"column:team_id"`
	WorkflowID  string     `gorm:"column:workflow_id"`
	PhoneNumber string     `gorm:"column:phone_number"`
	IsTrial     bool       `gorm:"column:is_trial"`
	Status      string     `gorm:"column:status"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	ReleasedAt  *time.Time `gorm:"column:released_at"`
}

func (reservationModel) TableName() string { return "number_reservations" }

func (m reservationModel) toDomain() domain.Reservation {
	return domain.Reservation{
		ID:          m.ID,
		TeamID:      m.TeamID,
		WorkflowID:  m.WorkflowID,
		PhoneNumber: m.PhoneNumber,
		IsTrial:     m.IsTrial,
		Status:      domain.ReservationStatus(m.Status),
		CreatedAt:   m.CreatedAt.UTC(),
		ReleasedAt:  utcPtr(m.ReleasedAt),
	}
}

// utcPtr returns t in UTC: the driver hands back timestamptz values in the
// process's local zone, and the domain speaks UTC everywhere.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// phoneNumberListRow is a row of the number list: the number with its
// assistant's name and its buyer joined in.
type phoneNumberListRow struct {
	// Number is named, not anonymous: GORM only maps exported fields, and
	// an anonymous phoneNumberModel is an unexported one.
	Number         phoneNumberModel `gorm:"embedded"`
	AssistantName  *string          `gorm:"column:assistant_name"`
	CreatedByEmail string           `gorm:"column:created_by_email"`
	CreatedByName  string           `gorm:"column:created_by_name"`
}

func (r phoneNumberListRow) toDomain() domain.NumberListItem {
	return domain.NumberListItem{
		PhoneNumber:    r.Number.toDomain(),
		AssistantName:  r.AssistantName,
		CreatedByEmail: r.CreatedByEmail,
		CreatedByName:  r.CreatedByName,
	}
}

type idempotencyKeyModel struct {
	TeamID      string    `gorm:"column:team_id;primaryKey"`
	Key         string    `gorm:"column:key;primaryKey"`
	RequestHash string    `gorm:"column:request_hash"`
	Target      string    `gorm:"column:target"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	// ResponseStatus and ResponseBody are the first request's final answer.
	ResponseStatus *int   `gorm:"column:response_status"`
	ResponseBody   []byte `gorm:"column:response_body"`
}

func (idempotencyKeyModel) TableName() string { return "idempotency_keys" }

func (m idempotencyKeyModel) toDomain() domain.IdempotencyClaim {
	c := domain.IdempotencyClaim{TeamID: m.TeamID, Key: m.Key, RequestHash: m.RequestHash, Target: m.Target, ResponseBody: m.ResponseBody}
	if m.ResponseStatus != nil {
		c.ResponseStatus = *m.ResponseStatus
	}
	return c
}
