package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// PortTakenError is Start's answer when a port the server needs is in use.
type PortTakenError struct {
	IP   string
	Port int
	Err  error
}

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("port %d on %s is taken (is another talkturo dev or Temporal server running?): %v", e.Port, e.IP, e.Err)
}

func (e *PortTakenError) Unwrap() error { return e.Err }

func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return &PortTakenError{IP: ip, Port: port, Err: err}
	}
	return l.Close()
}

// blockSize is the width of a server's block of ports: servicePorts puts
// its services from the frontend port to the frontend port + 10.
const blockSize = 11

// handedOut are the first ports of the blocks FreePort returned in this
// process: a test binary runs several servers at once, and a block that
// overlaps one handed out earlier, still free only because its server has
// not bound it yet, would be taken by the time its own server starts.
var handedOut = struct {
	sync.Mutex
	ports []int
}{}

// FreePort returns a TCP port that was free a moment ago, with the next ten
// free too, for tests that start several servers, and overlapping no block
// it returned before in this process. It draws from below Linux's default
// ephemeral range (32768–60999): a port the kernel handed out (127.0.0.1:0)
// sits among the local ports of outgoing connections, and under a busy
// suite its neighbours were taken too often for 50 draws to find a free
// block. Another process may still take a port in between: StartOnFreePort
// draws again when it does.
func FreePort() (int, error) {
	const low, high = 20000, 32768 - blockSize
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		port := low + rand.IntN(high-low)
		if overlapsHandedOut(port) || !blockFree(port) {
			continue
		}
		handedOut.ports = append(handedOut.ports, port)
		return port, nil
	}
	return 0, errors.New("no free block of ports found")
}

func overlapsHandedOut(port int) bool {
	for _, p := range handedOut.ports {
		if port > p-blockSize && port < p+blockSize {
			return true
		}
	}
	return false
}

func blockFree(port int) bool {
	for _, p := range servicePorts(port).all() {
		if checkPortFree("127.0.0.1", p) != nil {
			return false
		}
	}
	return true
}

// StartOnFreePort is Start on a block of ports FreePort draws (cfg's
// FrontendPort is ignored); a block another process takes before the
// server binds it is given up for another, a few times.
func StartOnFreePort(ctx context.Context, cfg Config) (*Server, error) {
	return startOnFreePort(ctx, cfg, FreePort, Start)
}

func startOnFreePort(ctx context.Context, cfg Config, draw func() (int, error), start func(context.Context, Config) (*Server, error)) (*Server, error) {
	var err error
	for range 5 {
		if cfg.FrontendPort, err = draw(); err != nil {
			return nil, err
		}
		var srv *Server
		srv, err = start(ctx, cfg)
		var taken *PortTakenError
		if !errors.As(err, &taken) {
			return srv, err
		}
	}
	return nil, err
}
