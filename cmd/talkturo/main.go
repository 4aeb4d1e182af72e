// Command talkturo is the one binary of Talkturo phone numbers. Its
// subcommands run the API and worker in production (serve, api, worker),
// database migrations (migrate), administration (admin: bootstrap, and
// register-search-attributes for the deploy Job), the Telnyx
// simulator (telnyx-sim) and, in a build with the devstack tag, the whole
// stack for development (dev; see nodev.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
)

// usage is the text of `talkturo --help`; the defaults it names come from
// config's tags, as `--help` on a command shows them.
var usage = `talkturo: Talkturo phone numbers.

Usage:
` + devUsage + `  talkturo serve          the API and the worker against TEMPORAL_ADDRESS, DATABASE_URL and Telnyx
  talkturo api            the API only
  talkturo worker         the Temporal worker only (purchases, trials, releases)
  talkturo migrate [up|status]
                          apply (or list) the database migrations
  talkturo admin bootstrap --team-name N --email E --name U --plan P [--attach-existing-user]
                          create a team, a user in it and an API key; prints {"teamId","userId","token"}
  talkturo admin register-search-attributes [--print-tcld]
                          add the workflows' custom search attributes to TEMPORAL_NAMESPACE
                          (or print the tcld command that does, for Temporal Cloud)
  talkturo telnyx-sim     the Telnyx v2 simulator on TELNYX_SIM_ADDR (` + variableDefault("TELNYX_SIM_ADDR") + `)

Configuration is read from environment variables only: see the README.
talkturo <command> --help lists a command's flags and the variables it reads.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1) {
		fmt.Print(usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args // the command a help request names
	if args[0] == "help" {
		name = args[1:]
	}
	if c, ok := findCommand(name); ok && c.leftOut {
		// Whatever follows and whatever the configuration: this build
		// cannot run it, and says how to get one that can.
		fmt.Fprintln(os.Stderr, "talkturo: "+c.about)
		return 2
	}
	if args[0] == "help" || wantsHelp(args[1:]) {
		if c, ok := findCommand(name); ok {
			printHelp(os.Stdout, c)
			return 0
		}
		if args[0] == "help" {
			fmt.Fprintf(os.Stderr, "talkturo: no command %q\n\n%s", name[0], usage)
			return 2
		}
	}
	cfg, err := config.Load(environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "talkturo: "+err.Error())
		return 2
	}
	switch args[0] {
	case "dev", "serve", "api":
		if err := cfg.ValidateAPI(); err != nil {
			fmt.Fprintln(os.Stderr, "talkturo: "+err.Error())
			return 2
		}
	}
	switch args[0] {
	case "dev", "serve", "api", "worker":
		// dev's refusal first: a TLS variable left for another cluster
		// is to be unset, whether or not its file can be read.
		if args[0] == "dev" {
			if err := cfg.ValidateEmbeddedTemporal(); err != nil {
				fmt.Fprintln(os.Stderr, "talkturo: "+err.Error())
				return 2
			}
		}
		if err := cfg.ValidateTemporal(); err != nil {
			fmt.Fprintln(os.Stderr, "talkturo: "+err.Error())
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "dev":
		err = runDev(ctx, cfg, args[1:])
	case "serve":
		err = runServe(ctx, cfg, roleAPI|roleWorker)
	case "api":
		err = runServe(ctx, cfg, roleAPI)
	case "worker":
		err = runServe(ctx, cfg, roleWorker)
	case "migrate":
		err = runMigrate(ctx, cfg, args[1:])
	case "admin":
		err = runAdmin(ctx, cfg, args[1:])
	case "telnyx-sim":
		err = runSimulator(ctx, cfg)
	default:
		fmt.Fprintf(os.Stderr, "talkturo: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		var ce *config.Error
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "talkturo: "+ue.Error())
			return 2
		}
		if errors.As(err, &ce) {
			fmt.Fprintln(os.Stderr, "talkturo: "+ce.Error())
			return 2
		}
		fmt.Fprintln(os.Stderr, "talkturo: "+err.Error())
		return 1
	}
	return 0
}

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return m
}
