package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/telemetry"
)

// The OTEL_* variables come in with the rest (telemetry.Load): tracing off
// by default, on with an endpoint, and a bad value named like any other.
func TestTracingSettings(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil || c.Tracing.Export {
		t.Fatalf("tracing by default: %+v, %v; want off", c.Tracing, err)
	}
	c, err = Load(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
	if err != nil || !c.Tracing.Export || c.Tracing.Protocol != telemetry.ProtocolGRPC {
		t.Fatalf("tracing with an endpoint: %+v, %v; want OTLP over gRPC", c.Tracing, err)
	}
	_, err = Load(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_SAMPLER": "sometimes"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "OTEL_TRACES_SAMPLER" || !strings.HasPrefix(err.Error(), "OTEL_TRACES_SAMPLER ") {
		t.Fatalf("a bad sampler: %v; want a config.Error naming OTEL_TRACES_SAMPLER", err)
	}
}
