package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatEvery is how often a provider activity tells Temporal it is
// alive; ProviderOptions' HeartbeatTimeout is a few of these.
const heartbeatEvery = 2 * time.Second

// keepAlive heartbeats in the background until the returned stop is
// called. A provider call can take seconds (timeouts, back-off on 429), so
// the activity cannot heartbeat between steps alone; with this a worker
// that dies mid-call is noticed within the heartbeat timeout rather than
// the whole start-to-close timeout, and another worker retries sooner.
func keepAlive(ctx context.Context) (stop func()) { return keepAliveWith(ctx, nil) }

// keepAliveWith is keepAlive whose beats carry details() (when not nil):
// the progress a later attempt reads with activity.GetHeartbeatDetails.
// A bare beat would overwrite the progress an attempt recorded.
func keepAliveWith(ctx context.Context, details func() any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		// The first beat is due a period in: the start itself shows the
		// activity alive, and a beat racing a quick activity's end fails
		// (and the SDK warns about it).
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			switch {
			case ctx.Err() != nil:
			case details != nil:
				activity.RecordHeartbeat(ctx, details())
			default:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return cancel
}
