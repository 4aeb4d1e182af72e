package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/talkturo/phonenumbers/telemetry"
	"github.com/talkturo/phonenumbers/testkit"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestLoadIsOffUnlessAnEndpointOrOTLPIsNamed(t *testing.T) {
	t.Parallel()
	http := telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerParentBasedAlwaysOn, Ratio: 1}
	for name, tc := range map[string]struct {
		env  map[string]string
		want telemetry.Config
	}{
		"nothing set": {nil, telemetry.Config{}},
		// Set for another program in the pod: not a reason to fail.
		"only other variables, bad ones": {map[string]string{"OTEL_TRACES_SAMPLER": "xray", "OTEL_PROPAGATORS": "b3", "OTEL_SERVICE_NAME": "x"}, telemetry.Config{}},
		"an endpoint":                    {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, http},
		"a traces endpoint":              {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, http},
		"otlp without an endpoint":       {map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, http},
		"exporter none wins":             {map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, telemetry.Config{}},
		"the SDK disabled wins":          {map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "bad"}, telemetry.Config{}},
		"the SDK not disabled":           {map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "OTLP"}, http},
		"grpc for traces wins": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolGRPC, Sampler: telemetry.SamplerParentBasedAlwaysOn, Ratio: 1}},
		"grpc for all": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolGRPC, Sampler: telemetry.SamplerParentBasedAlwaysOn, Ratio: 1}},
		"a ratio": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerParentBasedTraceIDRatio, Ratio: 0.25}},
		"a ratio sampler without its argument": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerTraceIDRatio, Ratio: 1}},
		"an argument another sampler ignores": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "always_off", "OTEL_TRACES_SAMPLER_ARG": "x"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerAlwaysOff, Ratio: 1}},
		"propagators": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_PROPAGATORS": " tracecontext "},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerParentBasedAlwaysOn, Ratio: 1, Propagators: []string{"tracecontext"}}},
		"no propagation": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_PROPAGATORS": "none"},
			telemetry.Config{Export: true, Protocol: telemetry.ProtocolHTTP, Sampler: telemetry.SamplerParentBasedAlwaysOn, Ratio: 1, Propagators: []string{}}},
		"resource attributes": {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod, k8s.pod.name=api-1"}, http},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := telemetry.Load(lookup(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Load = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	on := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
	for variable, value := range map[string]string{
		"OTEL_SDK_DISABLED":                  "yes",
		"OTEL_TRACES_EXPORTER":               "otlp,console",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/json",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift",
		"OTEL_TRACES_SAMPLER":                "jaeger_remote",
		"OTEL_PROPAGATORS":                   "tracecontext,b3",
		"OTEL_RESOURCE_ATTRIBUTES":           "deployment.environment.name=prod,oops",
	} {
		t.Run(variable, func(t *testing.T) {
			env := map[string]string{variable: value}
			for k, v := range on {
				env[k] = v
			}
			_, err := telemetry.Load(lookup(env))
			var ce *telemetry.ConfigError
			if !errors.As(err, &ce) || ce.Var != variable {
				t.Fatalf("Load with %s=%q: %v, want an error naming %s", variable, value, err, variable)
			}
			t.Log(err)
		})
	}
	for _, arg := range []string{"1.5", "-0.1", "half", "NaN"} {
		_, err := telemetry.Load(lookup(map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": arg}))
		var ce *telemetry.ConfigError
		if !errors.As(err, &ce) || ce.Var != "OTEL_TRACES_SAMPLER_ARG" {
			t.Errorf("OTEL_TRACES_SAMPLER_ARG=%s: %v, want an error naming it", arg, err)
		}
	}
}

func TestOffIsANoopProvider(t *testing.T) {
	t.Parallel()
	tr, err := telemetry.New(context.Background(), telemetry.Config{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("tracing is on with nothing configured")
	}
	_, span := tr.TracerProvider().Tracer("t").Start(context.Background(), "s")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Fatal("tracing off records spans")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestExportsOverOTLP sends a span to a collector over OTLP/HTTP as the
// environment configures it: the exporter reads the endpoint and the
// headers itself, the resource names the service and the role.
func TestExportsOverOTLP(t *testing.T) {
	// t.Setenv: the exporter and the resource read the process's
	// environment, not a map.
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	collector := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))

	for name, tc := range map[string]struct {
		env     map[string]string
		service string
	}{
		"defaults":       {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, telemetry.DefaultServiceName},
		"a service name": {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.URL + "/v1/traces", "OTEL_SERVICE_NAME": "talkturo-eu"}, "talkturo-eu"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
				t.Setenv(k, tc.env[k])
			}
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k123")
			mu.Lock()
			got, bodies = nil, nil
			mu.Unlock()

			cfg, err := telemetry.Load(os.LookupEnv)
			if err != nil || !cfg.Export || cfg.Protocol != telemetry.ProtocolHTTP {
				t.Fatalf("Load = %+v, %v; want OTLP over HTTP", cfg, err)
			}
			tr, err := telemetry.New(context.Background(), cfg, "worker")
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Enabled() {
				t.Fatal("tracing is off with an endpoint set")
			}
			_, span := tr.TracerProvider().Tracer("t").Start(context.Background(), "a-span-to-export")
			span.End()
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0].Method != "POST" || got[0].URL.Path != "/v1/traces" || got[0].Header.Get("X-Collector-Key") != "k123" {
				t.Fatalf("the collector got %d requests, first %+v; want one POST /v1/traces with the configured header", len(got), got)
			}
			for _, want := range []string{"a-span-to-export", tc.service, telemetry.RoleAttribute, "worker"} {
				if !bytes.Contains(bodies[0], []byte(want)) {
					t.Errorf("the export does not carry %q", want)
				}
			}
		})
	}
}

func TestGRPCExporterDoesNotWaitForItsCollector(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	tr, err := telemetry.New(context.Background(), telemetry.Config{Export: true, Protocol: telemetry.ProtocolGRPC}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Enabled() {
		t.Fatal("tracing is off")
	}
	// Nothing queued: nothing to wait for.
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPropagators(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		names  []string
		fields []string
	}{
		{nil, []string{"traceparent", "tracestate", "baggage"}},
		{[]string{"tracecontext"}, []string{"traceparent", "tracestate"}},
		{[]string{}, nil},
	} {
		got := telemetry.PropagatorOf(telemetry.Config{Propagators: tc.names}).Fields()
		// A composite lists its fields in no particular order.
		slices.Sort(got)
		slices.Sort(tc.fields)
		if !slices.Equal(got, tc.fields) {
			t.Errorf("PropagatorOf(%v) carries %v, want %v", tc.names, got, tc.fields)
		}
	}
}
