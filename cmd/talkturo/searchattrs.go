package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// registerTimeout bounds one registration: a frontend that does not
// answer fails the command (and the deploy Job's attempt, which Kubernetes
// retries) rather than hang it.
const registerTimeout = time.Minute

// searchAttributesFlags defines admin register-search-attributes' flags
// (--help lists them).
func searchAttributesFlags() (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("admin register-search-attributes", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.Bool("print-tcld", false, "print the tcld command that declares them in the Temporal Cloud namespace TEMPORAL_NAMESPACE (Cloud takes them through tcld or its UI), and register nothing")
}

// runRegisterSearchAttributes registers the workflows' custom search
// attributes (workflows.SearchAttributes, the one list) in
// TEMPORAL_NAMESPACE at TEMPORAL_ADDRESS, connecting as serve does (its
// TLS and API key), and prints each attribute with what was done about it;
// with --print-tcld it prints the tcld command that declares them instead.
func runRegisterSearchAttributes(ctx context.Context, cfg config.Config, args []string) error {
	fs, printTcld := searchAttributesFlags()
	if err := fs.Parse(args); err != nil {
		return usageError{cmd: "admin register-search-attributes", err: err}
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "admin register-search-attributes", err: fmt.Errorf("takes no arguments, not %q", fs.Args())}
	}
	if *printTcld {
		fmt.Println(tcldCommand(cfg.TemporalNamespace))
		return nil
	}
	if err := cfg.ValidateTemporal(); err != nil {
		return err
	}
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	// A registry of its own: the certificate's expiry is exported only by
	// the processes that serve /metrics.
	tc, err := temporalClientConfig(cfg, log, prometheus.NewRegistry(), nil)
	if err != nil {
		return err
	}
	c, err := temporalclient.New(tc, log)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	added, err := temporalclient.RegisterSearchAttributes(ctx, c.OperatorService(), cfg.TemporalNamespace)
	if err != nil {
		return fmt.Errorf("admin register-search-attributes at %s: %w", cfg.TemporalAddress, err)
	}
	attrs := workflows.SearchAttributes()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "NAME\tTYPE\tIN NAMESPACE %s\n", cfg.TemporalNamespace)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		done := "already there"
		if slices.Contains(added, name) {
			done = "added"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, attrs[name], done)
	}
	return w.Flush()
}

// tcldCommand is the tcld command that declares workflows.SearchAttributes
// in the Temporal Cloud namespace ns, one attribute a line.
func tcldCommand(ns string) string {
	attrs := workflows.SearchAttributes()
	var b strings.Builder
	fmt.Fprintf(&b, "tcld namespace search-attributes add --namespace %s", ns)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		fmt.Fprintf(&b, " \\\n  --search-attribute \"%s=%s\"", name, attrs[name])
	}
	return b.String()
}
