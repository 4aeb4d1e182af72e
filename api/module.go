package api

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
)

// fxParams are what Module takes from the app. Readiness checks come from
// the "readiness" value group, so each adapter can contribute its own.
type fxParams struct {
	fx.In
	Config      Config
	Accounts    domain.AccountStore
	Assistants  domain.AssistantStore
	Provider    domain.NumberProvider
	Numbers     domain.PhoneNumberStore
	Idempotency domain.IdempotencyStore
	Workflows   NumberWorkflows
	OrderEvents domain.OrderEvents     `optional:"true"`
	Registry    *prometheus.Registry   `optional:"true"`
	TelnyxCalls *prometheus.CounterVec `optional:"true"`
	Checks      []Check                `group:"readiness"`
	Probe       *ProviderProbe         `optional:"true"`
	Tracing     Tracing                `optional:"true"`
	Log         *slog.Logger
}

// Module provides the API server and runs it for the app's lifetime.
var Module = fx.Module("api",
	fx.Provide(func(p fxParams) (*Server, error) {
		return New(p.Config, Deps{Accounts: p.Accounts, Assistants: p.Assistants, Provider: p.Provider,
			Numbers: p.Numbers, Idempotency: p.Idempotency, Workflows: p.Workflows, OrderEvents: p.OrderEvents,
			Registry: p.Registry, TelnyxCalls: p.TelnyxCalls, Checks: p.Checks, Probe: p.Probe, Tracing: p.Tracing, Log: p.Log})
	}),
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
