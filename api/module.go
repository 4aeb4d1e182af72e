package api

import (
	"context"

	"go.uber.org/fx"
)

// Module provides the API server (New, its Deps taken from the app) and
// runs it for the app's lifetime.
var Module = fx.Module("api",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		if s.probe != nil {
			lc.Append(fx.Hook{OnStart: s.probe.Start, OnStop: s.probe.Stop})
		}
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { return s.Start() },
			OnStop:  s.Stop,
		})
	}),
)
