package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/activity"
)

// newLogger returns the process logger: readable text for a developer's
// terminal, JSON for log collectors in production. Every line logged with
// an activity's context (the Telnyx client's, the database's) carries the
// workflow and activity it belongs to.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(activityHandler{h})
}

// activityHandler adds workflow_id, run_id and activity_type to records
// logged with an activity's context.
type activityHandler struct{ slog.Handler }

func (h activityHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil && activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		r.AddAttrs(
			slog.String("workflow_id", info.WorkflowExecution.ID),
			slog.String("run_id", info.WorkflowExecution.RunID),
			slog.String("activity_type", info.ActivityType.Name),
		)
	}
	return h.Handler.Handle(ctx, r)
}

func (h activityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return activityHandler{h.Handler.WithAttrs(attrs)}
}

func (h activityHandler) WithGroup(name string) slog.Handler {
	return activityHandler{h.Handler.WithGroup(name)}
}
