package persistence

import (
	"context"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// liveHolder returns the live record of the E.164 number, if any, on db or
// inside a transaction.
func liveHolder(ctx context.Context, db *gorm.DB, e164 string) (phoneNumberModel, bool, error) {
	var rows []phoneNumberModel
	err := db.WithContext(ctx).
		Where("phone_number = ? AND status IN "+liveStatuses, e164).
		Limit(1).
		Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return phoneNumberModel{}, false, err
	}
	return rows[0], true, nil
}

// maxLivePage bounds one page of ListLive.
const maxLivePage = 10000

// ListLive returns up to limit live numbers of every team, ordered by E.164
// number, after the number after. The order and the filter are those of
// the unique index phone_numbers_live_number_key, so each page is one
// range scan of it, and the keyset (rather than an offset) keeps a page
// from skipping numbers when others end meanwhile. A number bought while
// the pages are read appears if it sorts after the last page read so far:
// the caller sees each number that stayed live throughout exactly once.
func (s *PhoneNumberStore) ListLive(ctx context.Context, after string, limit int) ([]domain.PhoneNumber, error) {
	if limit < 1 || limit > maxLivePage {
		return nil, domain.Invalid("limit", "The page size must be between 1 and %d.", maxLivePage)
	}
	if malformedText(after) {
		return nil, domain.Invalid("after", "The number to start after is not valid text.")
	}
	var rows []phoneNumberModel
	err := s.db.WithContext(ctx).Raw(`
		SELECT * FROM phone_numbers
		WHERE status IN `+liveStatuses+` AND phone_number > ?
		ORDER BY phone_number
		LIMIT ?`, after, limit).Find(&rows).Error
	if err != nil {
		return nil, storeError("listing live numbers", err)
	}
	out := make([]domain.PhoneNumber, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toDomain())
	}
	return out, nil
}

// LiveByNumber returns the live record of the E.164 number, whichever
// team holds it, or domain.ErrNotFound.
func (s *PhoneNumberStore) LiveByNumber(ctx context.Context, e164 string) (domain.PhoneNumber, error) {
	if malformedText(e164) {
		return domain.PhoneNumber{}, domain.ErrNotFound
	}
	m, found, err := liveHolder(ctx, s.db, e164)
	switch {
	case err != nil:
		return domain.PhoneNumber{}, storeError("reading the live record of a number", err)
	case !found:
		return domain.PhoneNumber{}, domain.ErrNotFound
	}
	return m.toDomain(), nil
}

// maxLiveAmong bounds one LiveAmong call: a search page at most.
const maxLiveAmong = 1000

// LiveAmong returns which of the E.164 numbers some team holds live
// (pending or active), in one query: an index lookup per number on
// phone_numbers_live_number_key, cheap enough for every search.
func (s *PhoneNumberStore) LiveAmong(ctx context.Context, e164s []string) (map[string]bool, error) {
	held := map[string]bool{}
	if len(e164s) == 0 {
		return held, nil
	}
	if len(e164s) > maxLiveAmong {
		return nil, domain.Invalid("phoneNumbers", "At most %d numbers can be looked up at once.", maxLiveAmong)
	}
	clean := make([]string, 0, len(e164s))
	for _, e := range e164s {
		if !malformedText(e) {
			clean = append(clean, e)
		}
	}
	var rows []string
	err := s.db.WithContext(ctx).Raw(`
		SELECT phone_number FROM phone_numbers
		WHERE status IN `+liveStatuses+` AND phone_number IN ?`, clean).Scan(&rows).Error
	if err != nil {
		return nil, storeError("looking up live numbers", err)
	}
	for _, e := range rows {
		held[e] = true
	}
	return held, nil
}
