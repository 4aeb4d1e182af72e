package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
)

// command is a subcommand as `talkturo <command> --help` describes it.
type command struct {
	name  string // as typed, such as "admin bootstrap"
	args  string // what follows the name in its usage line
	about string
	flags func() *flag.FlagSet // nil when it takes none
	// reads says whether it reads a configuration variable.
	reads func(variable string) bool
	// leftOut: this build does not have the command, and about says how to
	// get a build that has it.
	leftOut bool
}

// Which configuration variables which processes read. A variable in none
// of these sets is read by every long-running process (dev, serve, api,
// worker), so a new one shows up there without an edit here.
var (
	devOnlyVars   = []string{"TEMPORAL_EMBEDDED", "TEMPORAL_UI_PORT", "TALKTURO_DATA_DIR"}
	simulatorVars = []string{"TELNYX_SIM_ADDR", "TELNYX_SIM_ORDER_LATENCY", "TELNYX_SIM_WEBHOOK_URL", "TELNYX_SIM_WEBHOOK_KEY"}
	apiOnlyVars   = []string{"HTTP_ADDR", "PURCHASE_WAIT", "BILLING_WEBHOOK_SECRET", "TELNYX_PROBE_INTERVAL",
		"TELNYX_PUBLIC_KEY", "TELNYX_CONNECTION_ID", "TELNYX_CONNECTION_IDS",
		"RATE_LIMIT_SEARCH_PER_SECOND", "RATE_LIMIT_SEARCH_BURST", "RATE_LIMIT_PURCHASE_PER_SECOND", "RATE_LIMIT_PURCHASE_BURST", "REQUEST_TIMEOUT"}
	workerOnlyVars = []string{"TRIAL_DURATION", "BILLING_GRACE_PERIOD", "RECONCILE_INTERVAL", "RECONCILE_ORPHAN_DELAY", "RECONCILE_MAX_RELEASES"}
	logVars        = []string{"LOG_LEVEL", "LOG_FORMAT"}
	// temporalVars are how a process reaches Temporal, as serve does.
	temporalVars = []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA",
		"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS", "TEMPORAL_API_KEY"}
)

// tracingVars stands for the OTEL_* variables (telemetry.Load), which
// every long-running process reads.
const tracingVars = "OTEL_*"

func anyOf(set ...[]string) func(string) bool {
	return func(v string) bool {
		for _, s := range set {
			if slices.Contains(s, v) {
				return true
			}
		}
		return false
	}
}

func noneOf(set ...[]string) func(string) bool {
	f := anyOf(set...)
	return func(v string) bool { return !f(v) }
}

var commands = []command{
	devCommand,
	{name: "serve", about: "The API and the worker against DATABASE_URL, TEMPORAL_ADDRESS and Telnyx.",
		reads: noneOf(devOnlyVars, simulatorVars)},
	{name: "api", about: "The API only.",
		reads: noneOf(devOnlyVars, simulatorVars, workerOnlyVars)},
	{name: "worker", about: "The Temporal worker only (purchases, trials, releases, billing, reconciliation).",
		reads: noneOf(devOnlyVars, simulatorVars, apiOnlyVars)},
	{name: "migrate", args: "[up|status]", about: "Applies the database migrations (up, the default) or lists them (status).",
		reads: anyOf([]string{"DATABASE_URL", "DATABASE_CONNECT_TIMEOUT"})},
	{name: "admin bootstrap", args: "--team-name N --email E --name U [--plan P] [--attach-existing-user]", flags: func() *flag.FlagSet { fs, _ := bootstrapFlags(); return fs },
		about: `Creates a team on a plan, a user in it and an API key, and prints {"teamId","userId","token"} on one line.`,
		reads: anyOf([]string{"DATABASE_URL", "DATABASE_CONNECT_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT"})},
	{name: "admin register-search-attributes", args: "[--print-tcld]", flags: func() *flag.FlagSet { fs, _ := searchAttributesFlags(); return fs },
		about: "Adds the custom search attributes the workflows set (workflows/searchattrs.go) to TEMPORAL_NAMESPACE at TEMPORAL_ADDRESS, connecting as serve does (TEMPORAL_TLS_*, TEMPORAL_API_KEY), and lists them: the missing ones added, the others left alone; one of another type fails it. The deploy Job talkturo-search-attributes runs it before each rollout. On Temporal Cloud, which takes them through tcld, --print-tcld prints the command instead.",
		reads: anyOf(temporalVars, logVars)},
	{name: "telnyx-sim", about: "The Telnyx v2 simulator alone, on TELNYX_SIM_ADDR. With TELNYX_SIM_WEBHOOK_URL it posts a signed number_order.complete there as each order settles, signed with TELNYX_SIM_WEBHOOK_KEY (a key is made, and its public half logged, when unset).",
		reads: anyOf(simulatorVars, logVars)},
}

// findCommand returns the command that args name (`admin` alone names
// admin bootstrap).
func findCommand(args []string) (command, bool) {
	name := args[0]
	if name == "admin" {
		name = "admin bootstrap"
		if len(args) > 1 && args[1] == "register-search-attributes" {
			name = "admin register-search-attributes"
		}
	}
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// wantsHelp reports whether the arguments ask for help.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printHelp writes c's usage, flags and the variables it reads, with their
// defaults (the README's Configuration table says what each means).
func printHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "Usage: talkturo %s %s\n\n%s\n\n", c.name, c.args, c.about)
	fmt.Fprintln(w, "Flags:")
	if c.flags == nil {
		fmt.Fprintln(w, "  none")
	} else {
		fs := c.flags()
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			fmt.Fprintln(w, line)
			fmt.Fprintln(w, "        "+usage+defaultOf(f))
		})
	}
	fmt.Fprintln(w, "\nEnvironment variables (see the README's Configuration table):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range variables() {
		if c.reads(v.name) {
			fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.def)
		}
	}
	if c.reads(tracingVars) {
		fmt.Fprintf(tw, "  %s\t%s\n", tracingVars, "the standard OpenTelemetry ones; unset by default: tracing off (see the README's Tracing)")
	}
	_ = tw.Flush()
}

func defaultOf(f *flag.Flag) string {
	if f.DefValue == "" || f.DefValue == "false" {
		return ""
	}
	return fmt.Sprintf(" (default %s)", f.DefValue)
}

type variable struct{ name, def string }

// variableDefault is what variables says of name's default ("default …"
// or "unset by default").
func variableDefault(name string) string {
	for _, v := range variables() {
		if v.name == name {
			return v.def
		}
	}
	panic("talkturo: no configuration variable " + name)
}

// variables lists every configuration variable with its default, read
// from config.Config's tags so that none can be left out.
func variables() []variable {
	var vs []variable
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" || name == "-" {
			continue
		}
		def := "default " + f.Tag.Get("envDefault")
		if f.Tag.Get("envDefault") == "" {
			def = "unset by default"
		}
		vs = append(vs, variable{name, def})
	}
	return vs
}

// usageError is a command line the command cannot take.
type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string {
	return fmt.Sprintf("%s: %v (talkturo %s --help lists what it takes)", e.cmd, e.err, e.cmd)
}
