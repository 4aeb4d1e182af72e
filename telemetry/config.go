package telemetry

import (
	"fmt"
	"strconv"
	"strings"
)

// The OTLP transports the exporters offer.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Samplers by their OTEL_TRACES_SAMPLER names.
const (
	SamplerAlwaysOn                = "always_on"
	SamplerAlwaysOff               = "always_off"
	SamplerTraceIDRatio            = "traceidratio"
	SamplerParentBasedAlwaysOn     = "parentbased_always_on"
	SamplerParentBasedAlwaysOff    = "parentbased_always_off"
	SamplerParentBasedTraceIDRatio = "parentbased_traceidratio"
)

// Config is what the OTEL_* variables ask of tracing, as Load read and
// checked them. The zero Config is tracing off.
type Config struct {
	// Export is whether spans are exported at all: an OTLP endpoint is
	// set or OTEL_TRACES_EXPORTER=otlp, and neither OTEL_SDK_DISABLED=true
	// nor OTEL_TRACES_EXPORTER=none says otherwise. False is tracing off.
	Export bool
	// Protocol is ProtocolGRPC or ProtocolHTTP (the default).
	Protocol string
	// Sampler is one of the Sampler* names (SamplerParentBasedAlwaysOn
	// when empty), Ratio the share a ratio sampler keeps.
	Sampler string
	Ratio   float64
	// Propagators are "tracecontext" and "baggage", in the order given;
	// none is no propagation. Nil is both (the default).
	Propagators []string
}

// ConfigError is an OTEL_* variable with a value talkturo cannot use:
// one sentence naming the variable.
type ConfigError struct {
	Var     string
	Message string
}

func (e *ConfigError) Error() string { return e.Var + " " + e.Message }

// Load reads the variables of ours (lookup is os.LookupEnv in production;
// tests pass a map's). Those the SDK and the exporters read themselves
// (OTEL_EXPORTER_OTLP_ENDPOINT's value, headers, timeouts, certificates,
// OTEL_SERVICE_NAME, OTEL_BSP_*) they read from the process's
// environment, and are not parsed here. The rest is checked only when
// spans are exported: variables set for other programs in the same pod
// must not stop a process that does not trace.
func Load(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var c Config
	switch disabled := get("OTEL_SDK_DISABLED"); {
	case strings.EqualFold(disabled, "true"):
		return c, nil
	case disabled != "" && !strings.EqualFold(disabled, "false"):
		return c, &ConfigError{"OTEL_SDK_DISABLED", fmt.Sprintf("must be true or false, not %q.", disabled)}
	}
	switch exporter := strings.ToLower(get("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return c, nil
	case "otlp":
		c.Export = true
	case "":
		// The spec's default exporter is otlp, which would send spans to
		// localhost from every process that never asked for tracing.
		c.Export = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	default:
		return c, &ConfigError{"OTEL_TRACES_EXPORTER", fmt.Sprintf("must be otlp or none (talkturo exports traces over OTLP only), not %q.", exporter)}
	}
	if !c.Export {
		return c, nil
	}

	c.Protocol = ProtocolHTTP
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		p := get(name)
		if p == "" {
			continue
		}
		if p != ProtocolGRPC && p != ProtocolHTTP {
			return Config{}, &ConfigError{name, fmt.Sprintf("must be %s or %s (the Go exporter has no http/json), not %q.", ProtocolGRPC, ProtocolHTTP, p)}
		}
		c.Protocol = p
		break
	}

	c.Sampler, c.Ratio = SamplerParentBasedAlwaysOn, 1
	if s := strings.ToLower(get("OTEL_TRACES_SAMPLER")); s != "" {
		switch s {
		case SamplerAlwaysOn, SamplerAlwaysOff, SamplerParentBasedAlwaysOn, SamplerParentBasedAlwaysOff:
		case SamplerTraceIDRatio, SamplerParentBasedTraceIDRatio:
			if arg := get("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
				r, err := strconv.ParseFloat(arg, 64)
				if err != nil || !(r >= 0 && r <= 1) {
					return Config{}, &ConfigError{"OTEL_TRACES_SAMPLER_ARG", fmt.Sprintf("must be the share of traces %s keeps, between 0 and 1 such as 0.25, not %q.", s, arg)}
				}
				c.Ratio = r
			}
		default:
			return Config{}, &ConfigError{"OTEL_TRACES_SAMPLER", fmt.Sprintf("must be one of %s, %s, %s, %s, %s or %s, not %q.",
				SamplerParentBasedAlwaysOn, SamplerParentBasedAlwaysOff, SamplerParentBasedTraceIDRatio, SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio, s)}
		}
		c.Sampler = s
	}

	if p := get("OTEL_PROPAGATORS"); p != "" {
		c.Propagators = []string{}
		for _, name := range strings.Split(p, ",") {
			switch name = strings.ToLower(strings.TrimSpace(name)); name {
			case "tracecontext", "baggage":
				c.Propagators = append(c.Propagators, name)
			case "none", "":
			default:
				return Config{}, &ConfigError{"OTEL_PROPAGATORS", fmt.Sprintf("names %q, which talkturo does not support: list tracecontext, baggage, or none.", name)}
			}
		}
	}

	// The SDK's own reading of it drops a pair without "=" and goes on
	// with a partial resource: spans would land under the wrong service.
	for _, pair := range strings.Split(get("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		if k, _, ok := strings.Cut(pair, "="); strings.TrimSpace(pair) != "" && (!ok || strings.TrimSpace(k) == "") {
			return Config{}, &ConfigError{"OTEL_RESOURCE_ATTRIBUTES", fmt.Sprintf("must be key=value pairs separated by commas, such as deployment.environment.name=production; %q is not.", pair)}
		}
	}
	return c, nil
}
