package main

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/devserver/tlstest"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestAdminRegistersTheSearchAttributesOverMutualTLS: `talkturo admin
// register-search-attributes`, what the deploy Job runs, adds every
// attribute of workflows.SearchAttributes with its type to a namespace that
// has none, through the TLS settings serve takes (the embedded frontend
// requires a client certificate); run again it finds them all and changes
// nothing; without the certificate the frontend refuses it, and it fails.
func TestAdminRegistersTheSearchAttributesOverMutualTLS(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	s := &stack{t: t, pki: tlstest.New(t)}
	s.tlsFiles = s.pki.WriteFiles(t, t.TempDir())
	s.startTemporal()
	namespace := "attrs-" + strings.ToLower(domain.NewID("ns"))
	env := map[string]string{
		"TEMPORAL_ADDRESS": s.temporal.HostPort(), "TEMPORAL_NAMESPACE": namespace,
		"TEMPORAL_TLS_CERT": s.tlsFiles.ClientCert, "TEMPORAL_TLS_KEY": s.tlsFiles.ClientKey, "TEMPORAL_TLS_CA": s.tlsFiles.CA,
	}
	var err error
	if s.cfg, err = config.Load(env); err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	custom := func() map[string]enumspb.IndexedValueType {
		t.Helper()
		for {
			res, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
			if err == nil {
				return res.GetCustomAttributes()
			}
			if ctx.Err() != nil {
				t.Fatalf("list the search attributes of %s: %v", namespace, err)
			}
			time.Sleep(100 * time.Millisecond) // the new namespace reaching the frontend's cache
		}
	}
	want := workflows.SearchAttributes()
	for name := range want {
		if _, ok := custom()[name]; ok {
			t.Fatalf("the new namespace has %s already: the test shows nothing", name)
		}
	}

	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	out, code := runBin(t, bin, vars, "admin", "register-search-attributes")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	got := custom()
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("after the command %s is %v, want %v (namespace has %v)", name, got[name], typ, got)
		}
		if !strings.Contains(out, name+" ") || strings.Count(out, " added") != len(want) {
			t.Errorf("the command's list should show %s added:\n%s", name, out)
		}
	}

	out, code = runBin(t, bin, vars, "admin", "register-search-attributes")
	if code != 0 || strings.Contains(out, " added") || strings.Count(out, "already there") != len(want) {
		t.Errorf("run again: exit %d, want 0 with every attribute already there:\n%s", code, out)
	}
	if again := custom(); !maps.Equal(again, got) {
		t.Errorf("run again, the namespace changed: %v, then %v", got, again)
	}

	out, code = runBin(t, bin, append(vars, "TEMPORAL_TLS_CERT=", "TEMPORAL_TLS_KEY="), "admin", "register-search-attributes")
	if code != 1 || !strings.Contains(out, "list search attributes of namespace") {
		t.Errorf("without the client certificate: exit %d, want 1 saying the list failed:\n%s", code, out)
	}
}

// TestPrintTcldDeclaresEverySearchAttribute: --print-tcld prints one tcld
// command for TEMPORAL_NAMESPACE declaring each attribute of
// workflows.SearchAttributes with its type, and nothing else.
func TestPrintTcldDeclaresEverySearchAttribute(t *testing.T) {
	t.Parallel()
	cmd := tcldCommand("talkturo.a1b2c")
	fields := strings.Fields(strings.ReplaceAll(cmd, "\\\n", " "))
	if !slices.Equal(fields[:5], []string{"tcld", "namespace", "search-attributes", "add", "--namespace"}) || fields[5] != "talkturo.a1b2c" {
		t.Fatalf("not a tcld add for the namespace:\n%s", cmd)
	}
	declared := map[string]string{}
	for i := 6; i < len(fields); i += 2 {
		name, typ, ok := strings.Cut(strings.Trim(fields[i+1], `"`), "=")
		if fields[i] != "--search-attribute" || !ok {
			t.Fatalf("%q %q is not --search-attribute \"Name=Type\":\n%s", fields[i], fields[i+1], cmd)
		}
		declared[name] = typ
	}
	want := map[string]string{}
	for name, typ := range workflows.SearchAttributes() {
		want[name] = typ.String()
	}
	if !maps.Equal(declared, want) {
		t.Errorf("declares %v, want %v", declared, want)
	}
}
