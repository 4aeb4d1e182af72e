package devserver

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// UI is the Temporal Web UI serving one Temporal frontend.
type UI struct {
	srv  *uiserver.Server
	addr string
	errc chan error
}

type uiConfigProvider struct{ cfg *uiconfig.Config }

func (p uiConfigProvider) GetConfig() (*uiconfig.Config, error) { return p.cfg, nil }

// StartUI serves the Temporal Web UI on ip:port for the frontend at
// temporalHostPort. The UI server exits the whole process when its port is
// taken, so the port is checked first and a clear error returned instead.
func StartUI(ip string, port int, temporalHostPort, namespace string) (*UI, error) {
	if err := checkPortFree(ip, port); err != nil {
		return nil, err
	}
	cfg := &uiconfig.Config{
		Host:                ip,
		Port:                port,
		TemporalGRPCAddress: temporalHostPort,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		// This machine has no internet: never fetch release news.
		DisableNewsFetch:   true,
		NotifyOnNewVersion: false,
		HideLogs:           true,
		CORS:               uiconfig.CORS{CookieInsecure: true},
		PublicPath:         "",
	}
	u := &UI{
		srv:  uiserver.NewServer(server_options.WithConfigProvider(uiConfigProvider{cfg})),
		addr: net.JoinHostPort(ip, strconv.Itoa(port)),
		errc: make(chan error, 1),
	}
	go func() { u.errc <- u.srv.Start() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + u.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return u, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	u.srv.Stop()
	return nil, fmt.Errorf("the Temporal Web UI did not answer on %s", u.addr)
}

// URL is where a browser opens the UI.
func (u *UI) URL() string { return "http://" + u.addr }

// Stop stops the UI server.
func (u *UI) Stop() { u.srv.Stop() }
