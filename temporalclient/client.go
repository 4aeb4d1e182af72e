package temporalclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
)

// Config says which Temporal cluster and namespace to use, and how to
// reach it.
type Config struct {
	HostPort  string
	Namespace string
	// TLS, when set, secures the connection to the frontend; with a
	// certificate in it, the client authenticates with it (mTLS).
	TLS *tls.Config
	// APIKey, when set, is sent on every call as "authorization: Bearer
	// <key>" (Temporal Cloud's API keys). Without TLS the SDK turns TLS on
	// with the system's roots, so a key never travels in the clear.
	APIKey string
	// Metrics, when set, receives the SDK's metrics (see NewSDKMetrics).
	Metrics client.MetricsHandler
	// Interceptors are the client's, and those of every worker made from
	// it (NewTracingInterceptor).
	Interceptors []interceptor.ClientInterceptor
}

// New returns a Temporal client that connects on first use, so that
// starting a process never blocks on Temporal; /readyz reports whether it
// answers.
func New(cfg Config, log *slog.Logger) (client.Client, error) {
	if log == nil {
		log = slog.Default()
	}
	opts := client.Options{
		HostPort:          cfg.HostPort,
		Namespace:         cfg.Namespace,
		Logger:            sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		MetricsHandler:    cfg.Metrics,
		ConnectionOptions: client.ConnectionOptions{TLS: cfg.TLS},
		Interceptors:      cfg.Interceptors,
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.HostPort, err)
	}
	return c, nil
}

// CheckHealth reports whether the Temporal frontend answers.
func CheckHealth(ctx context.Context, c client.Client) error {
	_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}
