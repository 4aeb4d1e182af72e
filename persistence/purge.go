package persistence

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/background"
)

// IdempotencyPurgeInterval is how often a worker purges expired
// Idempotency-Keys. Hourly keeps the table at about a day of keys; a
// missed run only means a larger next one, since expired claims no longer
// count whether purged or not.
const IdempotencyPurgeInterval = time.Hour

// purgeTimeout bounds one purge. A backlog larger than a minute of
// batches is finished by the next runs: each batch commits on its own.
const purgeTimeout = time.Minute

// RunIdempotencyPurge purges expired Idempotency-Keys (see
// PurgeIdempotencyKeys) at once and then every interval, until ctx ends.
// A failed purge is logged and tried again at the next tick. Every worker
// runs it: the DELETE is idempotent and cheap, so workers need not agree
// on which of them does it.
func RunIdempotencyPurge(ctx context.Context, s *IdempotencyStore, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		purgeOnce(ctx, s, interval, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func purgeOnce(ctx context.Context, s *IdempotencyStore, interval time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, purgeTimeout)
	defer cancel()
	n, err := s.PurgeIdempotencyKeys(ctx)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		// The app is stopping.
	case err != nil:
		log.Warn("purging expired idempotency keys failed; trying again later", "error", err, "retry_in", interval)
	default:
		log.Info("purged expired idempotency keys", "deleted", n, "older_than", IdempotencyKeyTTL)
	}
}

// PurgeModule runs RunIdempotencyPurge every IdempotencyPurgeInterval for
// the app's lifetime (a worker's; the app supplies the persistence
// Module), in the background: a database that is down at start delays
// nothing.
var PurgeModule = fx.Module("idempotency-purge",
	fx.Invoke(func(lc fx.Lifecycle, s *IdempotencyStore, log *slog.Logger) {
		background.Run(lc, func(ctx context.Context) {
			RunIdempotencyPurge(ctx, s, IdempotencyPurgeInterval, log.With("component", "idempotency-purge"))
		})
	}),
)
