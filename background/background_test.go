package background_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/fx/fxtest"

	"github.com/talkturo/phonenumbers/background"
)

// TestRunStartsWithTheAppAndStopsWithIt: the job does not run before the
// app starts; stopping cancels its context and waits for it to return.
func TestRunStartsWithTheAppAndStopsWithIt(t *testing.T) {
	lc := fxtest.NewLifecycle(t)
	started := make(chan struct{})
	returned := false
	background.Run(lc, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		returned = true
	})
	select {
	case <-started:
		t.Fatal("the job ran before the app started")
	case <-time.After(20 * time.Millisecond):
	}
	lc.RequireStart()
	<-started
	lc.RequireStop()
	if !returned {
		t.Error("the app stopped before the job returned")
	}
}

// TestRunStopGivesUpAtTheStopDeadline: a job that ignores its context
// holds the stop only until the stop's own context ends.
func TestRunStopGivesUpAtTheStopDeadline(t *testing.T) {
	lc := fxtest.NewLifecycle(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	background.Run(lc, func(context.Context) { <-release })
	lc.RequireStart()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- lc.Stop(ctx) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Stop still waits for the job 2s after a 50ms deadline")
	}
}
