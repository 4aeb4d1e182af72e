package persistence

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/talkturo/phonenumbers/domain"
)

// lastUsedResolution is how stale an API key's last_used_at may get. Writing
// it on every request would turn each authenticated read into a write on a
// hot row; once a minute is as precise as "last used" needs to be.
const lastUsedResolution = time.Minute

// bootstrapKeyName names the API key that Bootstrap creates.
const bootstrapKeyName = "bootstrap"

// AccountStore keeps teams, users, memberships, plans and API keys in
// PostgreSQL; it implements domain.AccountStore.
type AccountStore struct {
	db *gorm.DB
}

var _ domain.AccountStore = (*AccountStore)(nil)

// NewAccountStore returns an AccountStore on db.
func NewAccountStore(db *gorm.DB) *AccountStore {
	return &AccountStore{db: db}
}

// Bootstrap creates a team on the given plan, a user (or, with
// in.AttachExistingUser, reuses the one with the same email, compared
// case-insensitively; without it that is domain.ErrUserExists), the
// user's membership as owner and an API key with the given token hash, all
// in one transaction: either the caller gets a working key or nothing is
// left behind.
func (s *AccountStore) Bootstrap(ctx context.Context, in domain.BootstrapInput) (domain.BootstrapResult, error) {
	teamName := strings.TrimSpace(in.TeamName)
	email := strings.TrimSpace(in.UserEmail)
	userName := strings.TrimSpace(in.UserName)
	switch {
	case teamName == "":
		return domain.BootstrapResult{}, domain.Invalid("teamName", "The team name must not be empty.")
	case !strings.Contains(email, "@"):
		return domain.BootstrapResult{}, domain.Invalid("email", "The user's email %q is not an email address.", email)
	case in.TokenHash == "":
		return domain.BootstrapResult{}, errors.New("persistence: bootstrap needs the API key's token hash")
	}

	res := domain.BootstrapResult{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var plan planModel
		if err := tx.Take(&plan, "name = ?", string(in.Plan)).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return domain.UnknownPlan(string(in.Plan))
			}
			return err
		}
		team := teamModel{ID: domain.NewID(domain.PrefixTeam), Name: teamName, PlanName: plan.Name}
		if err := tx.Create(&team).Error; err != nil {
			return err
		}
		userID, err := findOrCreateUser(tx, email, userName, in.AttachExistingUser)
		if err != nil {
			return err
		}
		if err := tx.Create(&membershipModel{TeamID: team.ID, UserID: userID, Role: roleOwner}).Error; err != nil {
			return err
		}
		key := apiKeyModel{
			ID:          domain.NewID(domain.PrefixAPIKey),
			UserID:      userID,
			TokenHash:   in.TokenHash,
			TokenPrefix: in.TokenPrefix,
			Name:        bootstrapKeyName,
		}
		if err := tx.Create(&key).Error; err != nil {
			return err
		}
		res = domain.BootstrapResult{TeamID: team.ID, UserID: userID, APIKeyID: key.ID}
		return nil
	})
	if err != nil {
		return domain.BootstrapResult{}, storeError("bootstrapping an account", err)
	}
	return res, nil
}

// findOrCreateUser returns the id of the user with this email, creating the
// user if there is none; an existing user is domain.ErrUserExists unless
// attach. The insert goes first (ON CONFLICT DO NOTHING) so that two
// concurrent bootstraps for one email end with one user, not a
// unique-violation for the slower one.
func findOrCreateUser(tx *gorm.DB, email, name string, attach bool) (string, error) {
	var ids []string
	err := tx.Raw(`
		INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, now())
		ON CONFLICT ((lower(email))) DO NOTHING
		RETURNING id`, domain.NewID(domain.PrefixUser), email, name).Find(&ids).Error
	if err != nil {
		return "", err
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	if !attach {
		return "", domain.ErrUserExists
	}
	if err := tx.Raw(`SELECT id FROM users WHERE lower(email) = lower(?)`, email).Find(&ids).Error; err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", errors.New("persistence: the user with this email vanished during bootstrap")
	}
	return ids[0], nil
}

// Authenticate returns the principal of the live (not revoked) API key with
// this token hash, or domain.ErrUnauthorized. It records when the key was
// last used, at most once a minute; failing to record that never fails the
// request, since the caller did authenticate.
func (s *AccountStore) Authenticate(ctx context.Context, tokenHash string) (domain.Principal, error) {
	if tokenHash == "" {
		return domain.Principal{}, domain.ErrUnauthorized
	}
	var key apiKeyModel
	err := s.db.WithContext(ctx).
		Select("id", "user_id", "last_used_at").
		Where("token_hash = ? AND revoked_at IS NULL", tokenHash).
		Take(&key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.Principal{}, domain.ErrUnauthorized
	}
	if err != nil {
		return domain.Principal{}, storeError("authenticating an API key", err)
	}
	if key.LastUsedAt == nil || time.Since(*key.LastUsedAt) >= lastUsedResolution {
		// The WHERE repeats the freshness test with the database's clock,
		// so a burst of requests on one key writes once. The error is
		// dropped on purpose: GORM's logger has already reported it.
		_ = s.db.WithContext(ctx).Exec(`
			UPDATE api_keys SET last_used_at = now()
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ?))`,
			key.ID, lastUsedResolution.Seconds()).Error
	}
	return domain.Principal{UserID: key.UserID, APIKeyID: key.ID}, nil
}

// IsMember reports whether the user belongs to the team; it is false, not
// an error, when either does not exist, so that callers answer "access
// denied" alike for teams that exist and teams that do not.
func (s *AccountStore) IsMember(ctx context.Context, userID, teamID string) (bool, error) {
	var member bool
	err := s.db.WithContext(ctx).Raw(
		`SELECT EXISTS (SELECT 1 FROM team_memberships WHERE team_id = ? AND user_id = ?)`,
		teamID, userID).Find(&member).Error
	if err != nil {
		return false, storeError("checking a team membership", err)
	}
	return member, nil
}

// GetTeam returns the team, or domain.ErrNotFound.
func (s *AccountStore) GetTeam(ctx context.Context, teamID string) (domain.Team, error) {
	m, err := takeRow[teamModel](s.db.WithContext(ctx), "id = ?", teamID)
	if err != nil {
		return domain.Team{}, storeError("reading a team", err)
	}
	return m.toDomain(), nil
}

// GetUser returns the user, or domain.ErrNotFound.
func (s *AccountStore) GetUser(ctx context.Context, userID string) (domain.User, error) {
	m, err := takeRow[userModel](s.db.WithContext(ctx), "id = ?", userID)
	if err != nil {
		return domain.User{}, storeError("reading a user", err)
	}
	return m.toDomain(), nil
}

// Eligibility returns the team's held numbers (pending and active, as
// counted by the reservations) against its plan's limit, or
// domain.ErrNotFound.
func (s *AccountStore) Eligibility(ctx context.Context, teamID string) (domain.Eligibility, error) {
	row, err := loadEligibility(ctx, s.db, teamID)
	if err != nil {
		return domain.Eligibility{}, err
	}
	return row.toDomain(), nil
}

// SetPlan moves the team to a plan (billing events do). Numbers already
// held are kept even above the new limit; the counter then just blocks new
// purchases until the team is under it.
func (s *AccountStore) SetPlan(ctx context.Context, teamID string, plan domain.PlanName) error {
	res := s.db.WithContext(ctx).Exec(`
		UPDATE teams SET plan_name = ?, updated_at = now()
		WHERE id = ? AND EXISTS (SELECT 1 FROM plans WHERE name = ?)`, string(plan), teamID, string(plan))
	if res.Error != nil {
		return storeError("changing a team's plan", res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetTeam(ctx, teamID); err != nil {
			return err
		}
		return domain.UnknownPlan(string(plan))
	}
	return nil
}

// SyncPlans writes the plans (from configuration) in one statement, adding
// the missing ones and updating the limits of the others. Plans not in the
// list are left alone, since teams may still be on them.
func (s *AccountStore) SyncPlans(ctx context.Context, plans []domain.Plan) error {
	if len(plans) == 0 {
		return nil
	}
	rows := make([]planModel, 0, len(plans))
	seen := make(map[domain.PlanName]bool, len(plans))
	for _, p := range plans {
		switch {
		case seen[p.Name]:
			// One INSERT … ON CONFLICT cannot update a row twice.
			return domain.Invalid("plans", "Plan %q is listed twice.", p.Name)
		case p.Name == "" || string(p.Name) != strings.ToLower(string(p.Name)):
			return domain.Invalid("plans", "Plan name %q must be a non-empty lower-case name.", p.Name)
		case strings.TrimSpace(p.DisplayName) == "":
			return domain.Invalid("plans", "Plan %q needs a display name.", p.Name)
		case p.MaxNumbers < 0:
			return domain.Invalid("plans", "Plan %q cannot allow %d numbers: the limit must be zero or more.", p.Name, p.MaxNumbers)
		}
		seen[p.Name] = true
		rows = append(rows, planFromDomain(p))
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"display_name", "max_numbers", "paid"}),
	}).Create(&rows).Error
	return storeError("writing the plans", err)
}

// Ping checks that the database answers.
func (s *AccountStore) Ping(ctx context.Context) error {
	return ping(ctx, s.db)
}
