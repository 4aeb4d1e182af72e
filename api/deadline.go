package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

// PurchaseHeadroom is domain.PurchaseHeadroom: what a purchase or a
// release keeps of its deadline for after its wait for the workflow.
const PurchaseHeadroom = domain.PurchaseHeadroom

// saveResponseTimeout bounds keeping an idempotent answer. It runs on a
// context detached from the request's (the answer must be kept even if the
// deadline has just passed), so it needs a bound of its own.
const saveResponseTimeout = 5 * time.Second

// requestDeadline runs every request under a deadline that its database
// and Temporal calls honour (handlers pass c.UserContext() down): a full
// pool or a database that does not answer ends in a 503 when it runs out,
// never in a request that hangs.
func requestDeadline(timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), timeout)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// waitWithin is how long a purchase or release may wait for its workflow:
// wait, unless the request's deadline is nearer (earlier steps were slow),
// then what is left of it less PurchaseHeadroom, so that the request still
// answers 202 in time rather than running into its deadline.
func waitWithin(ctx context.Context, wait time.Duration) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return wait
	}
	return max(min(wait, time.Until(dl)-PurchaseHeadroom), 0)
}

// sendContext is the context a webhook hands its event on with: detached
// from the request's cancellation (a sender hanging up must not cut a
// signal half-sent), but bounded by limit or by what is left of the
// request's deadline, whichever is nearer: the answer is due by
// REQUEST_TIMEOUT.
func sendContext(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl))
	}
	return context.WithTimeout(context.WithoutCancel(ctx), limit)
}
