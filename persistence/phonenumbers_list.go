package persistence

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// Get returns the team's number with this id; another team's number is
// domain.ErrNotFound, exactly like one that does not exist, so ids cannot
// be probed across teams.
func (s *PhoneNumberStore) Get(ctx context.Context, teamID, id string) (domain.PhoneNumber, error) {
	if malformedText(teamID) || malformedText(id) {
		return domain.PhoneNumber{}, domain.ErrNotFound // no such id can exist
	}
	m, err := s.loadOfTeam(ctx, teamID, id)
	if err != nil {
		return domain.PhoneNumber{}, storeError("reading a number", err)
	}
	return m.toDomain(), nil
}

// List returns a page of the team's numbers, newest first (ties broken by
// id, so the order is total and pages never overlap), with each number's
// assistant name and buyer joined in by the one query that reads the page.
// Only pending and active numbers are listed unless q.IncludeReleased.
//
// Pages are keyset-paginated: NextCursor is an opaque position after the
// page's last item, so numbers bought while a client pages through never
// shift later pages. A cursor that List did not make is KindInvalid on
// field "cursor". Total is counted by a second query with the same filter;
// a number bought or released between the two statements may make it
// differ from the items by one.
func (s *PhoneNumberStore) List(ctx context.Context, q domain.NumberListQuery) (domain.NumberListPage, error) {
	switch {
	case q.TeamID == "":
		return domain.NumberListPage{}, domain.Invalid("teamId", "Listing numbers needs a team.")
	case q.Limit < 0:
		return domain.NumberListPage{}, domain.Invalid("limit", "The page size must be positive, or 0 for every number.")
	}
	filter := "p.team_id = ?"
	if !q.IncludeReleased {
		filter += " AND p.status IN " + liveStatuses
	}
	pageFilter, args := filter, []any{q.TeamID}
	if q.Cursor != "" {
		at, id, err := decodeNumberCursor(q.Cursor)
		if err != nil {
			return domain.NumberListPage{}, err
		}
		// A row comparison, which the (team_id, created_at DESC, id DESC)
		// indexes answer as one range scan.
		pageFilter += " AND (p.created_at, p.id) < (?, ?)"
		args = append(args, at, id)
	}
	limit := ""
	if q.Limit > 0 {
		// One row more than the page says whether another page follows.
		limit = " LIMIT ?"
		args = append(args, q.Limit+1)
	}

	var rows []phoneNumberListRow
	err := s.db.WithContext(ctx).Raw(`
		SELECT p.*, a.name AS assistant_name, u.email AS created_by_email, u.name AS created_by_name
		FROM phone_numbers p
		JOIN users u ON u.id = p.created_by_user_id
		LEFT JOIN assistants a ON a.team_id = p.team_id AND a.id = p.assistant_id
		WHERE `+pageFilter+`
		ORDER BY p.created_at DESC, p.id DESC`+limit, args...).Find(&rows).Error
	if err != nil {
		return domain.NumberListPage{}, storeError("listing numbers", err)
	}
	var total int64
	err = s.db.WithContext(ctx).Raw(`SELECT count(*) FROM phone_numbers p WHERE `+filter, q.TeamID).Find(&total).Error
	if err != nil {
		return domain.NumberListPage{}, storeError("counting numbers", err)
	}

	page := domain.NumberListPage{Items: make([]domain.NumberListItem, 0, len(rows)), Total: int(total)}
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1].Number
		page.NextCursor = encodeNumberCursor(last.CreatedAt, last.ID)
	}
	for _, r := range rows {
		page.Items = append(page.Items, r.toDomain())
	}
	return page, nil
}

// cursorSeparator sits between the time and the id in a cursor; neither an
// RFC 3339 time nor an id contains it.
const cursorSeparator = "|"

// encodeNumberCursor makes the cursor of the position just after the
// number created at createdAt with this id. Base64 keeps it opaque, so
// clients pass it back rather than build one.
func encodeNumberCursor(createdAt time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(createdAt.UTC().Format(time.RFC3339Nano) + cursorSeparator + id))
}

// decodeNumberCursor reads a cursor made by encodeNumberCursor.
func decodeNumberCursor(cursor string) (time.Time, string, error) {
	invalid := domain.Invalid("cursor", "The cursor is not one this API returned: pass nextCursor from the previous page unchanged, or leave it out for the first page.")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", invalid
	}
	at, id, ok := strings.Cut(string(raw), cursorSeparator)
	if !ok || id == "" || malformedText(id) {
		return time.Time{}, "", invalid
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, "", invalid
	}
	return t.UTC(), id, nil
}
