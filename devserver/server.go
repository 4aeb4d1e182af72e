// Package devserver runs a real Temporal server inside the process, with its
// Web UI, for `talkturo dev` and for integration tests. It is the same
// server a cluster runs (go.temporal.io/server), with all four services in
// one process, static membership and SQLite persistence in one file: a
// restart on the same file resumes every workflow and timer.
package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// Config says where the server keeps its state and where it listens.
type Config struct {
	// DBFile is the SQLite file; empty keeps everything in memory.
	DBFile string
	// IP to listen on; 127.0.0.1 unless set.
	IP string
	// FrontendPort is the gRPC port clients dial (7233 unless set). The
	// history, matching and worker services take the next ports as the
	// Temporal CLI does: +1, +2 and +6; the frontend's HTTP API +10.
	FrontendPort int
	// Namespace is created at start with the custom search attributes.
	Namespace string
	// Retention of closed workflows in the namespace (7 days unless set).
	Retention time.Duration
	// LogLevel of the server's own logs (warn unless set).
	LogLevel string
	// TLS, when set, serves the frontend over TLS and requires a client
	// certificate of every client (mTLS); unset, it serves plaintext.
	TLS *TLS
}

// TLS is the embedded frontend's mTLS, from PEM files as the Temporal
// server's own configuration takes them. Only the frontend, the one port
// clients dial, is covered: the history, matching and worker services, all
// in this process, still talk to each other in plaintext on their own
// ports.
type TLS struct {
	// CertFile and KeyFile are the frontend's certificate and its key.
	CertFile, KeyFile string
	// ClientCAFile is the CA that client certificates must be signed by.
	ClientCAFile string
	// ClientCertFile and ClientKeyFile are what the server's own clients
	// present (its system worker, which runs schedules among others, and
	// Start's readiness check); signed by ClientCAFile's CA.
	ClientCertFile, ClientKeyFile string
	// RootCAFile is what those clients verify the frontend's certificate
	// with, for the name ServerName (the IP unless set).
	RootCAFile string
	ServerName string
}

// serverName is the name the server's own clients verify the frontend's
// certificate for.
func (t *TLS) serverName(ip string) string {
	if t.ServerName != "" {
		return t.ServerName
	}
	return ip
}

// rootTLS is the server's TLS configuration: the frontend's server side,
// and the system worker's client side of its own (without SystemWorker the
// server would have it present Internode's certificate, none here, and the
// frontend would refuse it).
func (t *TLS) rootTLS(ip string) config.RootTLS {
	return config.RootTLS{
		Frontend: config.GroupTLS{Server: config.ServerTLS{
			CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFiles: []string{t.ClientCAFile}, RequireClientAuth: true,
		}},
		SystemWorker: config.WorkerTLS{
			CertFile: t.ClientCertFile, KeyFile: t.ClientKeyFile,
			Client: config.ClientTLS{ServerName: t.serverName(ip), RootCAFiles: []string{t.RootCAFile}},
		},
	}
}

// clientTLS is the TLS configuration of Start's own client.
func (t *TLS) clientTLS(ip string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.ClientCertFile, t.ClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("the embedded Temporal server's client certificate: %w", err)
	}
	ca, err := os.ReadFile(t.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("the embedded Temporal server's root CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("the embedded Temporal server's root CA %s holds no PEM certificate", t.RootCAFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: t.serverName(ip), MinVersion: tls.VersionTLS12}, nil
}

// Server is a running embedded Temporal server.
type Server struct {
	cfg    Config
	server temporal.Server
	level  zap.AtomicLevel
}

// Start starts the server and waits until its frontend answers and the
// namespace has the custom search attributes.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.FrontendPort == 0 {
		cfg.FrontendPort = 7233
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Retention == 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	ports := servicePorts(cfg.FrontendPort)
	for _, p := range ports.all() {
		if err := checkPortFree(cfg.IP, p); err != nil {
			return nil, err
		}
	}

	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: cfg.DBFile,
		// One connection: SQLite has one writer, and more connections only
		// trade throughput for "database is locked" errors.
		MaxConns:     1,
		MaxIdleConns: 1,
		// WAL with synchronous=FULL: a commit survives a power loss, not
		// only a process crash. It costs about a quarter of the throughput
		// of NORMAL, which a development server can spare.
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "full"},
	}
	if cfg.DBFile == "" {
		sqlCfg.DatabaseName = "talkturo-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		// The SQLite plugin sets up the schema of an in-memory database itself.
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		if err := os.MkdirAll(filepath.Dir(cfg.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("create the folder of Temporal's database: %w", err)
		}
		if _, err := os.Stat(cfg.DBFile); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(sqlCfg); err != nil {
				return nil, fmt.Errorf("set up Temporal's SQLite schema in %s: %w", cfg.DBFile, err)
			}
		}
	}

	const clusterName = "active"
	ns, err := sqlite.NewNamespaceConfig(clusterName, cfg.Namespace, false, workflows.SearchAttributes())
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(cfg.Retention)
	// CreateNamespaces leaves an existing namespace alone; search attributes
	// added by a later version are registered through the operator API below.
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", cfg.Namespace, err)
	}

	srvCfg := serverConfig(cfg, sqlCfg, ports, clusterName)
	level, err := zap.ParseAtomicLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("Temporal log level %q: %w", cfg.LogLevel, err)
	}
	logger := tlog.NewZapLogger(zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), level)))
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(ports.frontend))),
		primitives.HistoryService:  static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(ports.history))),
		primitives.MatchingService: static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(ports.matching))),
		primitives.WorkerService:   static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(ports.worker))),
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(srvCfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}
	s := &Server{cfg: cfg, server: srv, level: level}
	if err := s.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return s, nil
}

// HostPort is the frontend address clients dial.
func (s *Server) HostPort() string {
	return net.JoinHostPort(s.cfg.IP, strconv.Itoa(s.cfg.FrontendPort))
}

// FrontendPort is the port of the frontend, the first of the server's
// block.
func (s *Server) FrontendPort() int { return s.cfg.FrontendPort }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.cfg.Namespace }

// Stop stops the server. Its internal workers complain loudly while the
// services go down one by one; only errors are logged from here on.
func (s *Server) Stop() error {
	s.level.SetLevel(zap.ErrorLevel)
	return s.server.Stop()
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	opts := sdkclient.Options{
		HostPort:  s.HostPort(),
		Namespace: s.cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	}
	if s.cfg.TLS != nil {
		tlsCfg, err := s.cfg.TLS.clientTLS(s.cfg.IP)
		if err != nil {
			return err
		}
		opts.ConnectionOptions.TLS = tlsCfg
	}
	c, err := sdkclient.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("dial the embedded Temporal server: %w", err)
	}
	defer c.Close()
	for {
		_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.cfg.Namespace})
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the embedded Temporal server did not become ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, err = temporalclient.RegisterSearchAttributes(ctx, c.OperatorService(), s.cfg.Namespace)
	return err
}

type portSet struct{ frontend, history, matching, worker, http int }

// all are the ports the server binds.
func (p portSet) all() []int { return []int{p.frontend, p.history, p.matching, p.worker, p.http} }

func servicePorts(frontend int) portSet {
	return portSet{frontend: frontend, history: frontend + 1, matching: frontend + 2, worker: frontend + 6, http: frontend + 10}
}

func serverConfig(cfg Config, sqlCfg *config.SQL, ports portSet, clusterName string) *config.Config {
	rpc := func(port, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, HTTPPort: httpPort, BindOnIP: cfg.IP}}
	}
	frontend := net.JoinHostPort(cfg.IP, strconv.Itoa(ports.frontend))
	global := config.Global{
		Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: cfg.IP},
	}
	if cfg.TLS != nil {
		global.TLS = cfg.TLS.rootTLS(cfg.IP)
	}
	return &config.Config{
		Global: global,
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, ClusterID: "6f0c5bfa-2b3e-4f7e-9d55-7a1c4e9b2d10"},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": rpc(ports.frontend, ports.http),
			"history":  rpc(ports.history, 0),
			"matching": rpc(ports.matching, 0),
			"worker":   rpc(ports.worker, 0),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		// The server's own system workers dial the frontend through this.
		PublicClient: config.PublicClient{HostPort: frontend},
	}
}

// dynamicConfig tunes the one-process server for latency: a task queue of
// one partition (the default four suit many matching hosts; here every
// poller and every task meet in one place, and a task never waits to be
// forwarded between partitions).
func dynamicConfig() dynamicconfig.Client {
	dc := dynamicconfig.NewMemoryClient()
	dc.OverrideSetting(dynamicconfig.MatchingNumTaskqueueReadPartitions, 1)
	dc.OverrideSetting(dynamicconfig.MatchingNumTaskqueueWritePartitions, 1)
	return dc
}
