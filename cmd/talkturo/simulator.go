package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
)

// simServer is the Telnyx simulator served over HTTP.
type simServer struct {
	sim  *telnyxsim.Simulator
	srv  *http.Server
	addr string
}

// simWebhook is where the simulator posts its signed order events, and
// the key it signs them with; no URL, no events.
type simWebhook struct {
	URL string
	Key ed25519.PrivateKey
}

// startSimulator serves a simulator on addr until stop is called.
func startSimulator(addr string, orderLatency time.Duration, hook simWebhook, log *slog.Logger) (*simServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on TELNYX_SIM_ADDR %s: %w", addr, err)
	}
	sim := telnyxsim.New(telnyxsim.Options{OrderLatency: orderLatency, WebhookURL: hook.URL, WebhookKey: hook.Key})
	s := &simServer{sim: sim, srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr().String()}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("telnyx simulator stopped", "error", err)
		}
	}()
	return s, nil
}

// BaseURL is what TELNYX_BASE_URL points at.
func (s *simServer) BaseURL() string { return "http://" + s.addr + "/v2" }

func (s *simServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// runSimulator is `talkturo telnyx-sim`: the simulator alone, for tests and
// for pointing a serve process at.
func runSimulator(ctx context.Context, cfg config.Config) error {
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	hook := simWebhook{URL: cfg.SimWebhookURL}
	if hook.URL != "" {
		var err error
		if hook.Key, err = simWebhookKey(cfg); err != nil {
			return err
		}
		// The public half is what the API's TELNYX_PUBLIC_KEY must be: not
		// a secret, and the one thing the operator needs from here.
		log.Info("telnyx simulator posts signed order events", "webhook_url", hook.URL,
			"public_key", base64.StdEncoding.EncodeToString(hook.Key.Public().(ed25519.PublicKey)))
	}
	s, err := startSimulator(cfg.SimAddr, cfg.SimOrderLatency, hook, log)
	if err != nil {
		return err
	}
	log.Info("telnyx simulator listening", "base_url", s.BaseURL(), "faults", "http://"+s.addr+"/_sim/faults")
	<-ctx.Done()
	s.stop()
	return nil
}

// simWebhookKey is TELNYX_SIM_WEBHOOK_KEY, or a key made for this run when
// it is unset.
func simWebhookKey(cfg config.Config) (ed25519.PrivateKey, error) {
	key, err := cfg.SimWebhookPrivateKey()
	if err != nil || key != nil {
		return key, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	return key, err
}

// devWebhookURL is the dev API's Telnyx webhook, reachable from this
// machine whatever interface HTTP_ADDR names.
func devWebhookURL(httpAddr string) string {
	host, port, _ := net.SplitHostPort(httpAddr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/api/telnyx/webhook"
}
