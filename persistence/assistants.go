package persistence

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// AssistantStore keeps a team's assistants in PostgreSQL; it implements
// domain.AssistantStore.
type AssistantStore struct {
	db *gorm.DB
}

var _ domain.AssistantStore = (*AssistantStore)(nil)

// NewAssistantStore returns an AssistantStore on db.
func NewAssistantStore(db *gorm.DB) *AssistantStore {
	return &AssistantStore{db: db}
}

// CreateAssistant stores a new assistant of a.TeamID, minting its id when
// a.ID is empty, and returns it as stored. A team that does not exist is
// domain.ErrNotFound.
func (s *AssistantStore) CreateAssistant(ctx context.Context, a domain.Assistant) (domain.Assistant, error) {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return domain.Assistant{}, domain.Invalid("name", "The assistant's name must not be empty.")
	}
	if a.TeamID == "" {
		return domain.Assistant{}, domain.Invalid("teamId", "The assistant needs a team.")
	}
	if a.ID == "" {
		a.ID = domain.NewID(domain.PrefixAssistant)
	}
	a.CreatedAt = a.CreatedAt.UTC().Truncate(time.Microsecond) // as stored
	m := assistantFromDomain(a)
	if err := s.db.WithContext(ctx).Create(&m).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return domain.Assistant{}, domain.ErrNotFound
		}
		return domain.Assistant{}, storeError("creating an assistant", err)
	}
	return m.toDomain(), nil
}

// ListAssistants returns the team's assistants in the order they were
// created (an empty list, not an error, for a team with none).
func (s *AssistantStore) ListAssistants(ctx context.Context, teamID string) ([]domain.Assistant, error) {
	var rows []assistantModel
	err := s.db.WithContext(ctx).
		Where("team_id = ?", teamID).
		Order("created_at, id").
		Find(&rows).Error
	if err != nil {
		return nil, storeError("listing assistants", err)
	}
	out := make([]domain.Assistant, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toDomain())
	}
	return out, nil
}

// GetAssistant returns the team's assistant with this id; an assistant of
// another team is domain.ErrNotFound, exactly like one that does not exist,
// so ids cannot be probed across teams.
func (s *AssistantStore) GetAssistant(ctx context.Context, teamID, id string) (domain.Assistant, error) {
	m, err := takeRow[assistantModel](s.db.WithContext(ctx), "team_id = ? AND id = ?", teamID, id)
	if err != nil {
		return domain.Assistant{}, storeError("reading an assistant", err)
	}
	return m.toDomain(), nil
}
