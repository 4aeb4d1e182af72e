// Package background runs a job for an fx app's lifetime: started with
// the app, cancelled and waited for when it stops.
package background

import (
	"context"

	"go.uber.org/fx"
)

// Run starts job in its own goroutine when the app starts, so that the
// app's start waits for nothing the job does (a database or cluster that
// is down delays no one). When the app stops, job's context is cancelled
// and the stop waits for job to return, or for the stop's own deadline.
func Run(lc fx.Lifecycle, job func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				job(ctx)
			}()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
			case <-stop.Done():
			}
			return nil
		},
	})
}
