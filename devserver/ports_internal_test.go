package devserver

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestFreePortHandsOutNoOverlappingBlocks: blocks FreePort returns in one
// process never share a port, though none is bound yet, and every port of
// each was free.
func TestFreePortHandsOutNoOverlappingBlocks(t *testing.T) {
	var got []int
	// Enough draws that blocks drawn at random would overlap many times.
	for range 200 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range got {
			if p > q-blockSize && p < q+blockSize {
				t.Fatalf("block %d overlaps block %d handed out before", p, q)
			}
		}
		got = append(got, p)
	}
}

// TestCheckPortFreeNamesTheTakenPort: a port in use is a PortTakenError
// naming it, which StartOnFreePort tells from other failures.
func TestCheckPortFreeNamesTheTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var taken *PortTakenError
	if err := checkPortFree("127.0.0.1", port); !errors.As(err, &taken) || taken.Port != port {
		t.Fatalf("checkPortFree on a bound port: %v", err)
	}
	if !strings.Contains(taken.Error(), "port "+strconv.Itoa(port)+" on 127.0.0.1 is taken") {
		t.Fatalf("the error does not name port %d: %v", port, taken)
	}
}

// TestStartOnFreePortDrawsAgainWhenABlockIsTaken: a block taken before its
// server binds it is given up for the next; any other failure ends the
// attempts, and so do five taken blocks in a row.
func TestStartOnFreePortDrawsAgainWhenABlockIsTaken(t *testing.T) {
	next := 30000
	draw := func() (int, error) { next += blockSize; return next, nil }
	takenUntil := func(free int) func(context.Context, Config) (*Server, error) {
		return func(_ context.Context, cfg Config) (*Server, error) {
			if cfg.FrontendPort < free {
				return nil, &PortTakenError{IP: "127.0.0.1", Port: cfg.FrontendPort, Err: errors.New("address already in use")}
			}
			return &Server{cfg: cfg}, nil
		}
	}
	srv, err := startOnFreePort(context.Background(), Config{}, draw, takenUntil(30000+3*blockSize))
	if err != nil || srv.FrontendPort() != 30000+3*blockSize {
		t.Fatalf("after two taken blocks: %v, %v; want the third block", srv, err)
	}

	next = 30000
	var taken *PortTakenError
	if _, err := startOnFreePort(context.Background(), Config{}, draw, takenUntil(1<<20)); !errors.As(err, &taken) || taken.Port != 30000+5*blockSize {
		t.Fatalf("five taken blocks: %v, want the fifth's PortTakenError", err)
	}

	calls := 0
	broken := errors.New("the server did not start")
	if _, err := startOnFreePort(context.Background(), Config{}, draw, func(context.Context, Config) (*Server, error) {
		calls++
		return nil, broken
	}); !errors.Is(err, broken) || calls != 1 {
		t.Fatalf("another failure: %v after %d starts, want it at once", err, calls)
	}
}
