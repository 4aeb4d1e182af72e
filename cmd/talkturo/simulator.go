package main

import (
	"context"
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

// startSimulator serves a simulator on addr until stop is called.
func startSimulator(addr string, orderLatency time.Duration, log *slog.Logger) (*simServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on TELNYX_SIM_ADDR %s: %w", addr, err)
	}
	sim := telnyxsim.New(telnyxsim.Options{OrderLatency: orderLatency})
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
	s, err := startSimulator(cfg.SimAddr, cfg.SimOrderLatency, log)
	if err != nil {
		return err
	}
	log.Info("telnyx simulator listening", "base_url", s.BaseURL(), "faults", "http://"+s.addr+"/_sim/faults")
	<-ctx.Done()
	s.stop()
	return nil
}
