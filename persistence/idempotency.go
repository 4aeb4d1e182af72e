package persistence

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// IdempotencyKeyTTL is how long an Idempotency-Key stands for its first
// request. A client retries within minutes; a day covers a retry after an
// outage, and after it the key may be claimed afresh.
const IdempotencyKeyTTL = 24 * time.Hour

// maxIdempotencyKeyLength is the longest key stored (the table's CHECK).
const maxIdempotencyKeyLength = 255

// claimAttempts bounds how often Claim claims again when the claim it
// lost to vanished (purged) before it could read it.
const claimAttempts = 3

// IdempotencyStore remembers each team's Idempotency-Keys in PostgreSQL; it
// implements domain.IdempotencyStore.
//
// A claim counts for IdempotencyKeyTTL (24 hours): after that the key may
// be claimed by a new request, even before PurgeIdempotencyKeys has deleted
// the old claim. Workers run PurgeModule, which calls PurgeIdempotencyKeys
// every IdempotencyPurgeInterval so the table does not grow forever.
type IdempotencyStore struct {
	db *gorm.DB
}

var _ domain.IdempotencyStore = (*IdempotencyStore)(nil)

// NewIdempotencyStore returns an IdempotencyStore on db.
func NewIdempotencyStore(db *gorm.DB) *IdempotencyStore {
	return &IdempotencyStore{db: db}
}

// Claim records c.Key for the team's request, or returns the claim that the
// first request with this key made within IdempotencyKeyTTL; the returned
// claim is always the stored one. Concurrent first requests with one key end
// with one claim, which every caller gets back: the caller whose
// RequestHash and Target it carries is the one that runs the request.
//
// A key must be 1 to 255 characters; a team that does not exist is
// domain.ErrNotFound.
func (s *IdempotencyStore) Claim(ctx context.Context, c domain.IdempotencyClaim) (domain.IdempotencyClaim, error) {
	switch {
	case c.TeamID == "":
		return domain.IdempotencyClaim{}, domain.Invalid("teamId", "An idempotency key belongs to a team.")
	case c.Key == "" || utf8.RuneCountInString(c.Key) > maxIdempotencyKeyLength || malformedText(c.Key):
		return domain.IdempotencyClaim{}, domain.Invalid("Idempotency-Key", "The Idempotency-Key header must be 1 to %d characters of text.", maxIdempotencyKeyLength)
	case malformedText(c.TeamID) || malformedText(c.RequestHash) || malformedText(c.Target):
		return domain.IdempotencyClaim{}, errors.New("persistence: an idempotency claim's team, hash and target must be text")
	}
	for attempt := 1; ; attempt++ {
		// Insert first, then read: two statements, so that the read takes
		// a fresh snapshot and sees the row of a concurrent request that
		// won the insert (within one statement it might not yet). An
		// expired claim is taken over in place.
		var claimed []idempotencyKeyModel
		err := s.db.WithContext(ctx).Raw(`
			INSERT INTO idempotency_keys (team_id, key, request_hash, target, created_at)
			VALUES (?, ?, ?, ?, now())
			ON CONFLICT (team_id, key) DO UPDATE
			SET request_hash = excluded.request_hash, target = excluded.target, created_at = excluded.created_at,
			    response_status = NULL, response_body = NULL
			WHERE idempotency_keys.created_at <= now() - make_interval(secs => ?)
			RETURNING *`,
			c.TeamID, c.Key, c.RequestHash, c.Target, IdempotencyKeyTTL.Seconds()).Find(&claimed).Error
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return domain.IdempotencyClaim{}, domain.ErrNotFound
		}
		if err != nil {
			return domain.IdempotencyClaim{}, storeError("claiming an idempotency key", err)
		}
		if len(claimed) == 0 {
			err = s.db.WithContext(ctx).
				Where("team_id = ? AND key = ?", c.TeamID, c.Key).
				Limit(1).
				Find(&claimed).Error
			if err != nil {
				return domain.IdempotencyClaim{}, storeError("reading an idempotency key", err)
			}
		}
		if len(claimed) == 1 {
			return claimed[0].toDomain(), nil
		}
		if attempt == claimAttempts {
			return domain.IdempotencyClaim{}, storeError("claiming an idempotency key",
				errors.New("the claim kept vanishing before it could be read"))
		}
	}
}

// SaveResponse stores the final answer to the request that claimed the
// key, for retries to replay. Only the first answer is kept.
func (s *IdempotencyStore) SaveResponse(ctx context.Context, teamID, key string, status int, body []byte) error {
	err := s.db.WithContext(ctx).Exec(`
		UPDATE idempotency_keys SET response_status = ?, response_body = ?
		WHERE team_id = ? AND key = ? AND response_status IS NULL`,
		status, body, teamID, key).Error
	if err != nil {
		return storeError("saving an idempotent response", err)
	}
	return nil
}

// Answered returns the claim of key by the team if it is younger than
// IdempotencyKeyTTL and holds a saved response.
func (s *IdempotencyStore) Answered(ctx context.Context, teamID, key string) (domain.IdempotencyClaim, bool, error) {
	var found []idempotencyKeyModel
	err := s.db.WithContext(ctx).
		Where("team_id = ? AND key = ? AND response_status IS NOT NULL AND created_at > now() - make_interval(secs => ?)", teamID, key, IdempotencyKeyTTL.Seconds()).
		Limit(1).
		Find(&found).Error
	if err != nil {
		return domain.IdempotencyClaim{}, false, storeError("reading an idempotency key", err)
	}
	if len(found) == 0 {
		return domain.IdempotencyClaim{}, false, nil
	}
	return found[0].toDomain(), true, nil
}

// IdempotencyPurgeBatch is how many expired claims one DELETE of the purge
// removes. A backlog (a table never purged before) deleted in one statement
// could outlast the pool's statement_timeout at every run, forever; a
// batch of this size takes milliseconds on the created_at index.
const IdempotencyPurgeBatch = 10000

// PurgeIdempotencyKeys deletes the claims that no longer count, those
// older than IdempotencyKeyTTL (the age Claim goes by), in batches of
// IdempotencyPurgeBatch, and returns how many it deleted.
func (s *IdempotencyStore) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	return s.PurgeIdempotencyKeysInBatches(ctx, IdempotencyPurgeBatch)
}

// PurgeIdempotencyKeysInBatches is PurgeIdempotencyKeys deleting at most
// batch rows per statement, until a statement deletes fewer. Each batch
// commits on its own, so a purge cut short (ctx) keeps what it deleted and
// the next one goes on from there. It returns how many it deleted, also
// when it fails part way.
func (s *IdempotencyStore) PurgeIdempotencyKeysInBatches(ctx context.Context, batch int) (int64, error) {
	if batch <= 0 {
		batch = IdempotencyPurgeBatch
	}
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(`
			DELETE FROM idempotency_keys WHERE ctid IN (
				SELECT ctid FROM idempotency_keys
				WHERE created_at <= now() - make_interval(secs => ?)
				LIMIT ?)`,
			IdempotencyKeyTTL.Seconds(), batch)
		if res.Error != nil {
			return total, storeError("purging idempotency keys", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < int64(batch) {
			return total, nil
		}
	}
}
