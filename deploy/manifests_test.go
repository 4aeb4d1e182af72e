// Package deploy checks the production manifests without a cluster: every
// Kubernetes document decodes strictly into its typed API struct (an unknown
// or misspelt field is an error), and the invariants that keep the app
// running are asserted: resources, probes, non-root pods, the shutdown
// budget, selectors that select, configuration the README documents, the
// Temporal values, and the Jobs that run talkturo's own subcommands (the
// search attributes come from the code's list through
// `talkturo admin register-search-attributes`, not from a copy here).
//
// It is a module of its own so that the product's go.mod does not carry the
// Kubernetes API packages. Run it with `make deploy-check`.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Names the manifests share.
const (
	appNamespace   = "talkturo"
	configMapName  = "talkturo-config"
	secretName     = "talkturo-secrets"
	appImage       = "talkturo" // rewritten by kustomization.yaml's images
	secretTemplate = "secret.example.yaml"
	kustomizeFile  = "kustomization.yaml"
	temporalValues = "temporal/values.yaml"
	// temporalNamespace is the Kubernetes namespace of Temporal's Helm
	// release (deploy/RUNBOOK.md).
	temporalNamespace = "temporal"

	// fxStopMargin is what cmd/talkturo adds to SHUTDOWN_TIMEOUT for the
	// app's whole stop (fx.StopTimeout(cfg.ShutdownTimeout + 15*time.Second)).
	fxStopMargin = 15 * time.Second
	// readyTimeout bounds one /readyz run (api.defaultReadyTimeout).
	readyTimeout = 3 * time.Second
)

// The subcommand each workload runs, and whether it serves HTTP. A
// workload with secretKeys gets only those keys of the Secret, each by a
// secretKeyRef of its own; the others take the whole Secret.
var workloads = map[string]struct {
	args        []string
	servesHTTP  bool
	minReplicas int32
	secretKeys  []string
}{
	"talkturo-api":     {args: []string{"api"}, servesHTTP: true, minReplicas: 2},
	"talkturo-worker":  {args: []string{"worker"}, minReplicas: 2},
	"talkturo-migrate": {args: []string{"migrate", "up"}},
	// It talks to Temporal alone: the database URL, the Telnyx key and
	// the billing webhook secret are none of its business.
	"talkturo-search-attributes": {args: []string{"admin", "register-search-attributes"}, secretKeys: []string{"TEMPORAL_API_KEY"}},
}

// The Jobs each rollout runs before the Deployments, by the component
// label the runbook selects them with.
var rolloutJobs = map[string]string{"talkturo-migrate": "migrate", "talkturo-search-attributes": "search-attributes"}

// Variables of the README's table that only `talkturo dev` or the
// simulator read: production manifests must not set them.
var devOnlyVars = []string{"TEMPORAL_EMBEDDED", "TEMPORAL_UI_PORT", "TALKTURO_DATA_DIR", "TELNYX_SIM_ADDR", "TELNYX_SIM_ORDER_LATENCY"}

// What the ConfigMap and the Secret must hold.
var (
	requiredConfig = []string{"HTTP_ADDR", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "TELNYX_BASE_URL",
		"TRIAL_DURATION", "PURCHASE_WAIT", "PLAN_LIMITS", "BILLING_GRACE_PERIOD", "LOG_FORMAT", "SHUTDOWN_TIMEOUT",
		// Every process's /metrics: without it there are none (the API's port never serves them).
		"METRICS_ADDR"}
	requiredSecret = []string{"DATABASE_URL", "TELNYX_API_KEY", "BILLING_WEBHOOK_SECRET"}
)

// doc is one YAML document of a manifest file, decoded.
type doc struct {
	file string // relative to deploy/
	meta metav1.TypeMeta
	obj  any // *corev1.ConfigMap, *appsv1.Deployment, …
}

func (d doc) String() string { return fmt.Sprintf("%s (%s)", d.file, d.meta.Kind) }

// newObject maps apiVersion/kind to the typed struct a document decodes
// into. A kind missing here fails the test: add it with its checks.
var newObject = map[string]func() any{
	"v1/Namespace":                           func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// splitDocuments splits a multi-document YAML file on "---" lines and
// drops documents that hold only comments or nothing.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	for line := range strings.Lines(string(data)) {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

func hasContent(b []byte) bool {
	for line := range strings.Lines(string(b)) {
		s := strings.TrimSpace(line)
		if s != "" && !strings.HasPrefix(s, "#") {
			return true
		}
	}
	return false
}

// decodeStrict decodes one document into its typed struct: unknown fields
// and duplicate keys are errors.
func decodeStrict(raw []byte) (metav1.TypeMeta, any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return tm, nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	mk, ok := newObject[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return tm, nil, fmt.Errorf("apiVersion %q kind %q is not one the test knows: add it to newObject with its checks", tm.APIVersion, tm.Kind)
	}
	obj := mk()
	if err := unmarshalStrict(raw, obj); err != nil {
		return tm, nil, fmt.Errorf("strict decoding as %s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return tm, obj, nil
}

// unmarshalStrict decodes YAML the way the API server's strict field
// validation does: YAML to JSON (duplicate keys are errors), then JSON into
// the struct with case-sensitive field names, refusing unknown and
// duplicate fields. (encoding/json alone would accept "readinessprobe" for
// readinessProbe, which the API server drops.)
func unmarshalStrict(raw []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// manifests is everything under k8s/ plus the search-attribute Job.
type manifests struct {
	docs     []doc
	k8sFiles []string // YAML files of k8s/ other than kustomization.yaml
}

// objects returns the objects of type T (such as *appsv1.Deployment)
// among the documents, in the order of the files.
func objects[T any](m *manifests) []T {
	var out []T
	for _, d := range m.docs {
		if o, ok := d.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// named returns the object of type T called name, or nil when there is
// none.
func named[T interface{ GetName() string }](m *manifests, name string) T {
	for _, o := range objects[T](m) {
		if o.GetName() == name {
			return o
		}
	}
	var none T
	return none
}

var (
	loadOnce   sync.Once
	loaded     *manifests
	loadErrors []string
)

// load reads and decodes the manifests once; every test fails if any
// document does not decode.
func load(t *testing.T) *manifests {
	t.Helper()
	loadOnce.Do(func() {
		m := &manifests{}
		files, err := filepath.Glob("k8s/*.yaml")
		if err != nil || len(files) == 0 {
			loadErrors = append(loadErrors, fmt.Sprintf("no manifests under k8s/ (%v)", err))
		}
		var toRead []string
		for _, f := range files {
			if filepath.Base(f) == kustomizeFile {
				continue
			}
			m.k8sFiles = append(m.k8sFiles, filepath.Base(f))
			toRead = append(toRead, f)
		}
		for _, f := range toRead {
			data, err := os.ReadFile(f)
			if err != nil {
				loadErrors = append(loadErrors, err.Error())
				continue
			}
			raws := splitDocuments(data)
			if len(raws) == 0 {
				loadErrors = append(loadErrors, f+": no YAML document")
			}
			for i, raw := range raws {
				tm, obj, err := decodeStrict(raw)
				if err != nil {
					loadErrors = append(loadErrors, fmt.Sprintf("%s, document %d: %v", f, i+1, err))
					continue
				}
				m.docs = append(m.docs, doc{file: f, meta: tm, obj: obj})
			}
		}
		loaded = m
	})
	for _, e := range loadErrors {
		t.Error(e)
	}
	if len(loadErrors) > 0 {
		t.FailNow()
	}
	return loaded
}

func (m *manifests) configMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	c := named[*corev1.ConfigMap](m, configMapName)
	if c == nil {
		t.Fatalf("no ConfigMap %s", configMapName)
	}
	return c
}

func (m *manifests) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	if s := named[*corev1.Secret](m, secretName); s != nil {
		return s
	}
	t.Fatalf("no Secret %s (the template %s)", secretName, secretTemplate)
	return nil
}

func (m *manifests) deployments() []*appsv1.Deployment { return objects[*appsv1.Deployment](m) }

func (m *manifests) deployment(name string) *appsv1.Deployment {
	return named[*appsv1.Deployment](m, name)
}

func (m *manifests) job(name string) *batchv1.Job { return named[*batchv1.Job](m, name) }

// config returns a ConfigMap value, failing when it is missing.
func config(t *testing.T, m *manifests, key string) string {
	t.Helper()
	v, ok := m.configMap(t).Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", configMapName, key)
	}
	return v
}

func duration(t *testing.T, m *manifests, key string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(config(t, m, key))
	if err != nil || d <= 0 {
		t.Fatalf("%s = %q is not a positive Go duration (%v)", key, config(t, m, key), err)
	}
	return d
}

// TestDecodingIsStrict proves the decoder refuses what the API server would
// silently drop: a misspelt field, a field at the wrong level, a duplicate key.
func TestDecodingIsStrict(t *testing.T) {
	bad := map[string]string{
		"misspelt field": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndatta:\n  A: b\n",
		"wrong case":     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: i\n          readinessprobe: {}\n",
		"wrong level":    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: i\n      envFrom: []\n",
		"duplicate key":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
	}
	for name, raw := range bad {
		if _, _, err := decodeStrict([]byte(raw)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, _, err := decodeStrict([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  A: b\n")); err != nil {
		t.Errorf("a valid ConfigMap: %v", err)
	}
}

// TestManifestsDecode: every document decodes strictly, has a valid name
// and labels, and lives in the namespace it belongs to.
func TestManifestsDecode(t *testing.T) {
	m := load(t)
	for _, d := range m.docs {
		om, err := meta(d.obj)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, msg := range validation.IsDNS1123Subdomain(om.Name) {
			t.Errorf("%s: name %q: %s", d, om.Name, msg)
		}
		for k, v := range om.Labels {
			for _, msg := range validation.IsQualifiedName(k) {
				t.Errorf("%s: label key %q: %s", d, k, msg)
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				t.Errorf("%s: label %s value %q: %s", d, k, v, msg)
			}
		}
		switch {
		case d.meta.Kind == "Namespace":
			if om.Namespace != "" {
				t.Errorf("%s: a Namespace has no namespace", d)
			}
		case om.Namespace != appNamespace:
			t.Errorf("%s %s: namespace %q, want %q", d, om.Name, om.Namespace, appNamespace)
		}
	}
	if ns := objects[*corev1.Namespace](m); len(ns) != 1 || ns[0].Name != appNamespace {
		t.Errorf("want exactly one Namespace, %s", appNamespace)
	} else if ns[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("Namespace %s: enforce the restricted Pod Security Standard", appNamespace)
	}
	for _, kind := range []string{"ConfigMap", "Secret", "Service", "Deployment", "Job", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
		if !slices.ContainsFunc(m.docs, func(d doc) bool { return d.meta.Kind == kind }) {
			t.Errorf("no %s among the manifests", kind)
		}
	}
}

func meta(obj any) (*metav1.ObjectMeta, error) {
	v := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta")
	if !v.IsValid() {
		return nil, fmt.Errorf("%T has no ObjectMeta", obj)
	}
	return v.Addr().Interface().(*metav1.ObjectMeta), nil
}

// kustomization is the part of kustomize's Kustomization these manifests
// use; decoded strictly, so a field added to kustomization.yaml must be
// added here (and thought about) too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	} `json:"images"`
}

// TestKustomization: it lists every manifest but the Secret template, and
// sets the image every talkturo container uses to a pinned tag.
func TestKustomization(t *testing.T) {
	m := load(t)
	data, err := os.ReadFile(filepath.Join("k8s", kustomizeFile))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := unmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s: %v", kustomizeFile, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s: apiVersion/kind %s/%s", kustomizeFile, k.APIVersion, k.Kind)
	}
	var want []string
	for _, f := range m.k8sFiles {
		if f != secretTemplate {
			want = append(want, f)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s resources = %v, want every manifest but %s: %v", kustomizeFile, got, secretTemplate, want)
	}
	if slices.Contains(k.Resources, secretTemplate) {
		t.Errorf("%s must not list %s: an apply would overwrite the real Secret with placeholders", kustomizeFile, secretTemplate)
	}
	i := slices.IndexFunc(k.Images, func(im struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	}) bool {
		return im.Name == appImage
	})
	if i < 0 {
		t.Fatalf("%s: no images entry for %q", kustomizeFile, appImage)
	}
	if im := k.Images[i]; im.NewName == "" || (im.NewTag == "" && im.Digest == "") || im.NewTag == "latest" {
		t.Errorf("%s: image %q must get a registry name and a pinned tag or digest, not %+v", kustomizeFile, appImage, im)
	}
	for _, d := range m.docs {
		ps := podSpecOf(d.obj)
		if ps == nil {
			continue
		}
		for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
			if c.Image != appImage {
				t.Errorf("%s container %s: image %q, want %q (set by %s)", d, c.Name, c.Image, appImage, kustomizeFile)
			}
		}
	}
}

func podSpecOf(obj any) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	}
	return nil
}

// checkPod asserts what every pod of ours has: non-root and the restricted
// Pod Security Standard, resources, a read-only root filesystem, and the
// app's configuration from the ConfigMap and the Secret.
func checkPod(t *testing.T, what string, ps *corev1.PodSpec, wantUID int64, wantEnvFrom bool) {
	t.Helper()
	sc := ps.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no pod securityContext", what)
	default:
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pod securityContext.runAsNonRoot must be true", what)
		}
		if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: pod securityContext.runAsUser must be a non-zero uid", what)
		} else if wantUID != 0 && *sc.RunAsUser != wantUID {
			t.Errorf("%s: runAsUser %d, want the image's USER %d", what, *sc.RunAsUser, wantUID)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccompProfile must be RuntimeDefault", what)
		}
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false (the app never calls the Kubernetes API)", what)
	}
	if len(ps.Containers) == 0 {
		t.Fatalf("%s: no containers", what)
	}
	for _, c := range ps.Containers {
		cw := what + " container " + c.Name
		csc := c.SecurityContext
		if csc == nil {
			t.Errorf("%s: no securityContext", cw)
		} else {
			if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem must be true", cw)
			}
			if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation must be false", cw)
			}
			if csc.Privileged != nil && *csc.Privileged {
				t.Errorf("%s: privileged", cw)
			}
			if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities must drop ALL and add none", cw)
			}
			if csc.RunAsUser != nil && *csc.RunAsUser == 0 {
				t.Errorf("%s: runs as root", cw)
			}
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if !hasReq || !hasLim || req.IsZero() || lim.IsZero() {
				t.Errorf("%s: %s needs a request and a limit", cw, r)
				continue
			}
			if lim.Cmp(req) < 0 {
				t.Errorf("%s: %s limit %s below its request %s", cw, r, lim.String(), req.String())
			}
		}
		if !wantEnvFrom {
			continue
		}
		var cm, sec bool
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == configMapName {
				cm = true
			}
			if ef.SecretRef != nil && ef.SecretRef.Name == secretName {
				sec = true
			}
		}
		if !cm || !sec {
			t.Errorf("%s: envFrom must take ConfigMap %s and Secret %s", cw, configMapName, secretName)
		}
		for _, e := range c.Env {
			if e.Value != "" && (strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "KEY") || strings.Contains(e.Name, "DATABASE_URL")) {
				t.Errorf("%s: %s is set inline; secrets come from %s", cw, e.Name, secretName)
			}
		}
	}
}

// TestWorkloads: each Deployment and Job runs the right subcommand on the
// image's ENTRYPOINT (the search-attributes Job `talkturo admin
// register-search-attributes`, which registers the code's own list), with
// the common pod checks.
func TestWorkloads(t *testing.T) {
	m := load(t)
	uid := dockerfileUID(t)
	seen := map[string]bool{}
	type pod struct {
		what, name string
		spec       *corev1.PodSpec
	}
	var pods []pod
	for _, d := range m.deployments() {
		pods = append(pods, pod{"Deployment " + d.Name, d.Name, &d.Spec.Template.Spec})
	}
	for _, j := range objects[*batchv1.Job](m) {
		if j.Namespace == appNamespace {
			pods = append(pods, pod{"Job " + j.Name, j.Name, &j.Spec.Template.Spec})
		}
	}
	for _, p := range pods {
		seen[p.name] = true
		w, ok := workloads[p.name]
		if !ok {
			t.Errorf("%s: unknown workload; add it to the test's workloads", p.what)
			continue
		}
		checkPod(t, p.what, p.spec, uid, w.secretKeys == nil)
		if w.secretKeys != nil {
			for _, problem := range secretsBeyond(p.spec, w.secretKeys) {
				t.Errorf("%s: %s", p.what, problem)
			}
		}
		checkArgs(t, p.what, p.spec, w.args)
	}
	for name := range workloads {
		if !seen[name] {
			t.Errorf("no workload %s", name)
		}
	}
}

// secretsBeyond lists how ps reaches a secret beyond the keys of the
// Secret talkturo-secrets it may have: the whole Secret (envFrom), another
// key or another Secret, a key under another variable's name, a required
// key (the pod would not start without it, and TEMPORAL_API_KEY is set
// only for Temporal Cloud), or a secret volume other than Temporal's
// client certificate. It also wants the ConfigMap, where the pod's
// settings come from.
func secretsBeyond(ps *corev1.PodSpec, keys []string) []string {
	var problems []string
	for _, v := range ps.Volumes {
		switch {
		case v.Secret != nil && v.Secret.SecretName != temporalTLSSecret:
			problems = append(problems, fmt.Sprintf("volume %s mounts the Secret %s", v.Name, v.Secret.SecretName))
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					problems = append(problems, fmt.Sprintf("volume %s projects the Secret %s", v.Name, src.Secret.Name))
				}
			}
		}
	}
	for i, c := range slices.Concat(ps.InitContainers, ps.Containers) {
		cm := false
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				problems = append(problems, fmt.Sprintf("container %s takes the whole Secret %s (envFrom); it may have only %v of %s", c.Name, ef.SecretRef.Name, keys, secretName))
			}
			if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == configMapName {
				cm = true
			}
		}
		if !cm && i >= len(ps.InitContainers) {
			problems = append(problems, fmt.Sprintf("container %s: envFrom must take ConfigMap %s", c.Name, configMapName))
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			switch {
			case ref.Name != secretName || !slices.Contains(keys, ref.Key):
				problems = append(problems, fmt.Sprintf("container %s: %s comes from key %s of Secret %s; it may have only %v of %s", c.Name, e.Name, ref.Key, ref.Name, keys, secretName))
			case e.Name != ref.Key:
				problems = append(problems, fmt.Sprintf("container %s: %s holds the key %s", c.Name, e.Name, ref.Key))
			case ref.Optional == nil || !*ref.Optional:
				problems = append(problems, fmt.Sprintf("container %s: %s must be optional (only Temporal Cloud with an API key has it)", c.Name, e.Name))
			}
		}
	}
	return problems
}

// TestSecretsBeyond: secretsBeyond finds each way a pod could reach a
// secret it must not, so that TestWorkloads cannot pass by missing one.
func TestSecretsBeyond(t *testing.T) {
	keys := []string{"TEMPORAL_API_KEY"}
	optional := true
	keyRef := func(name, secret, key string, opt *bool) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key, Optional: opt}}}
	}
	pod := func(envFrom []corev1.EnvFromSource, env []corev1.EnvVar, vols []corev1.Volume) *corev1.PodSpec {
		envFrom = append([]corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMapName}}}}, envFrom...)
		return &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", EnvFrom: envFrom, Env: env}}, Volumes: vols}
	}
	tls := corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: temporalTLSSecret}}}
	if p := secretsBeyond(pod(nil, []corev1.EnvVar{keyRef("TEMPORAL_API_KEY", secretName, "TEMPORAL_API_KEY", &optional)}, []corev1.Volume{tls}), keys); len(p) > 0 {
		t.Errorf("the allowed key and the client certificate: %v", p)
	}
	bad := map[string]*corev1.PodSpec{
		"the whole Secret": pod([]corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}}}}, nil, nil),
		"DATABASE_URL":     pod(nil, []corev1.EnvVar{keyRef("DATABASE_URL", secretName, "DATABASE_URL", &optional)}, nil),
		"another Secret":   pod(nil, []corev1.EnvVar{keyRef("TEMPORAL_API_KEY", "other", "TEMPORAL_API_KEY", &optional)}, nil),
		"a renamed key":    pod(nil, []corev1.EnvVar{keyRef("TELNYX_API_KEY", secretName, "TEMPORAL_API_KEY", &optional)}, nil),
		"a required key":   pod(nil, []corev1.EnvVar{keyRef("TEMPORAL_API_KEY", secretName, "TEMPORAL_API_KEY", nil)}, nil),
		"a secret volume": pod(nil, nil, []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secretName}}}}),
		"no ConfigMap": {Containers: []corev1.Container{{Name: "c"}}},
	}
	for what, ps := range bad {
		if p := secretsBeyond(ps, keys); len(p) == 0 {
			t.Errorf("%s: not reported", what)
		}
	}
}

func checkArgs(t *testing.T, what string, ps *corev1.PodSpec, want []string) {
	t.Helper()
	c := ps.Containers[0]
	if len(c.Command) != 0 {
		t.Errorf("%s: command %v overrides the image's ENTRYPOINT (talkturo); give the subcommand in args", what, c.Command)
	}
	if !slices.Equal(c.Args, want) {
		t.Errorf("%s: args %v, want %v (talkturo %s)", what, c.Args, want, strings.Join(want, " "))
	}
}

// TestDeployments: replicas, rollouts that keep capacity, probes where the
// pod serves HTTP (and none where it does not), topology spread, and a
// grace period longer than the app's own shutdown.
func TestDeployments(t *testing.T) {
	m := load(t)
	httpPort := addrPort(t, m, "HTTP_ADDR")
	metricsPort := addrPort(t, m, "METRICS_ADDR")
	shutdown := duration(t, m, "SHUTDOWN_TIMEOUT")
	for _, d := range m.deployments() {
		what := "Deployment " + d.Name
		w := workloads[d.Name]
		if d.Spec.Replicas == nil || *d.Spec.Replicas < w.minReplicas {
			t.Errorf("%s: replicas must be at least %d", what, w.minReplicas)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Fatalf("%s: selector %v: %v", what, d.Spec.Selector, err)
		}
		podLabels := labels.Set(d.Spec.Template.Labels)
		if !sel.Matches(podLabels) {
			t.Errorf("%s: selector %s does not match its pod labels %v", what, sel, podLabels)
		}
		if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
			ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Errorf("%s: a RollingUpdate with maxUnavailable 0 keeps capacity during rollouts", what)
		}
		ps := &d.Spec.Template.Spec
		if len(ps.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topologySpreadConstraints", what)
		}
		for _, tsc := range ps.TopologySpreadConstraints {
			s, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err != nil || s.Empty() || !s.Matches(podLabels) {
				t.Errorf("%s: topology spread on %s selects %v, not its own pods", what, tsc.TopologyKey, tsc.LabelSelector)
			}
		}

		// The shutdown budget: preStop pause + SHUTDOWN_TIMEOUT + the
		// app's margin must end before Kubernetes sends SIGKILL.
		var preStop time.Duration
		c := ps.Containers[0]
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
			if c.Lifecycle.PreStop.Sleep == nil {
				t.Errorf("%s: preStop must be a sleep action (the image has no shell)", what)
			} else {
				preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
			}
		}
		if ps.TerminationGracePeriodSeconds == nil {
			t.Errorf("%s: terminationGracePeriodSeconds must be set (> SHUTDOWN_TIMEOUT)", what)
		} else if grace := time.Duration(*ps.TerminationGracePeriodSeconds) * time.Second; grace <= shutdown || grace <= preStop+shutdown+fxStopMargin {
			t.Errorf("%s: terminationGracePeriodSeconds %v must exceed preStop %v + SHUTDOWN_TIMEOUT %v + %v", what, grace, preStop, shutdown, fxStopMargin)
		}

		// Prometheus annotations name METRICS_ADDR's port, which every
		// process serves /metrics on (the API's HTTP port does not), and
		// the container declares it.
		if ann := d.Spec.Template.Annotations; ann["prometheus.io/scrape"] == "true" {
			if ann["prometheus.io/port"] != strconv.Itoa(int(metricsPort)) || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s: prometheus.io/port %q and path %q, want %d (METRICS_ADDR) and /metrics", what, ann["prometheus.io/port"], ann["prometheus.io/path"], metricsPort)
			}
			if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" && p.ContainerPort == metricsPort }) {
				t.Errorf("%s: no container port %d named metrics (METRICS_ADDR)", what, metricsPort)
			}
		}

		if !w.servesHTTP {
			// The worker serves /metrics only (METRICS_ADDR), no API.
			for _, p := range c.Ports {
				if p.Name != "metrics" || p.ContainerPort != metricsPort {
					t.Errorf("%s: port %s/%d; a worker serves only /metrics, on METRICS_ADDR's port %d (named metrics)", what, p.Name, p.ContainerPort, metricsPort)
				}
			}
			for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				if p != nil {
					t.Errorf("%s: a %s probe, but the worker has nothing a probe could check (see the manifest's comment)", what, name)
				}
			}
			continue
		}
		if preStop <= 0 {
			t.Errorf("%s: a preStop sleep lets the Service drop the pod before it stops accepting", what)
		}
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == httpPort }) {
			t.Errorf("%s: no container port %d (HTTP_ADDR)", what, httpPort)
		}
		checkHTTPProbe(t, what+" readinessProbe", c.ReadinessProbe, "/readyz", c.Ports, httpPort)
		checkHTTPProbe(t, what+" livenessProbe", c.LivenessProbe, "/healthz", c.Ports, httpPort)
		if c.StartupProbe != nil {
			checkHTTPProbe(t, what+" startupProbe", c.StartupProbe, "/healthz", c.Ports, httpPort)
		}
		if p := c.ReadinessProbe; p != nil && time.Duration(p.TimeoutSeconds)*time.Second <= readyTimeout {
			t.Errorf("%s: readiness timeoutSeconds %d must exceed /readyz's own bound %v", what, p.TimeoutSeconds, readyTimeout)
		}
	}
}

func checkHTTPProbe(t *testing.T, what string, p *corev1.Probe, path string, ports []corev1.ContainerPort, want int32) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want GET %s", what, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, path)
	}
	if got, ok := resolvePort(p.HTTPGet.Port, ports); !ok || got != want {
		t.Errorf("%s: port %s is not the container's %d", what, p.HTTPGet.Port.String(), want)
	}
}

// resolvePort turns a named or numbered port into the container's number.
func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) (int32, bool) {
	if p.Type == intstr.Int {
		return p.IntVal, slices.ContainsFunc(ports, func(cp corev1.ContainerPort) bool { return cp.ContainerPort == p.IntVal })
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// TestDisruptionBudgets: each Deployment has a PDB with minAvailable 1 that
// selects its pods, and only its pods.
func TestDisruptionBudgets(t *testing.T) {
	m := load(t)
	covered := map[string]bool{}
	for _, p := range objects[*policyv1.PodDisruptionBudget](m) {
		what := "PodDisruptionBudget " + p.Name
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.Type != intstr.Int || p.Spec.MinAvailable.IntVal != 1 {
			t.Errorf("%s: minAvailable must be 1", what)
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("%s: selector %v: %v", what, p.Spec.Selector, err)
			continue
		}
		var matched []string
		for _, d := range m.deployments() {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				matched = append(matched, d.Name)
			}
		}
		if len(matched) != 1 {
			t.Errorf("%s: selects the pods of %v; want exactly one Deployment", what, matched)
			continue
		}
		covered[matched[0]] = true
		if d := m.deployment(matched[0]); d.Spec.Replicas != nil && *d.Spec.Replicas <= 1 {
			t.Errorf("%s: with one replica, minAvailable 1 blocks every drain", what)
		}
	}
	for _, d := range m.deployments() {
		if !covered[d.Name] {
			t.Errorf("Deployment %s has no PodDisruptionBudget", d.Name)
		}
	}
}

// TestService: the API's Service selects the API pods (and no other) and
// forwards port 80 to the port the API listens on.
func TestService(t *testing.T) {
	m := load(t)
	api := m.deployment("talkturo-api")
	if api == nil {
		t.Fatal("no Deployment talkturo-api")
	}
	var found bool
	for _, s := range objects[*corev1.Service](m) {
		if s.Name != "talkturo-api" {
			continue
		}
		found = true
		sel := labels.SelectorFromSet(s.Spec.Selector)
		if len(s.Spec.Selector) == 0 || !sel.Matches(labels.Set(api.Spec.Template.Labels)) {
			t.Errorf("Service %s: selector %v does not select the API pods %v", s.Name, s.Spec.Selector, api.Spec.Template.Labels)
		}
		for _, d := range m.deployments() {
			if d.Name != api.Name && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("Service %s also selects the pods of %s", s.Name, d.Name)
			}
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 80 {
			t.Fatalf("Service %s: want one port, 80; got %+v", s.Name, s.Spec.Ports)
		}
		target, ok := resolvePort(s.Spec.Ports[0].TargetPort, api.Spec.Template.Spec.Containers[0].Ports)
		if !ok || target != addrPort(t, m, "HTTP_ADDR") {
			t.Errorf("Service %s: targetPort %s does not reach the API's %d", s.Name, s.Spec.Ports[0].TargetPort.String(), addrPort(t, m, "HTTP_ADDR"))
		}
	}
	if !found {
		t.Error("no Service talkturo-api")
	}
}

// TestAutoscaler: the HPA scales an existing Deployment, never below two.
func TestAutoscaler(t *testing.T) {
	m := load(t)
	for _, h := range objects[*autoscalingv2.HorizontalPodAutoscaler](m) {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || m.deployment(ref.Name) == nil {
			t.Errorf("HPA %s: scaleTargetRef %+v is not one of our Deployments", h.Name, ref)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: want 2 <= minReplicas <= maxReplicas", h.Name)
		}
		if d := m.deployment(ref.Name); d != nil {
			c := d.Spec.Template.Spec.Containers[0]
			if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
				t.Errorf("HPA %s: CPU utilization needs a CPU request on %s", h.Name, d.Name)
			}
		}
	}
}

// TestJobs: the Jobs a rollout runs first are bounded and cleaned up, and
// carry the component label the runbook applies them by.
func TestJobs(t *testing.T) {
	m := load(t)
	for name, component := range rolloutJobs {
		j := m.job(name)
		if j == nil {
			t.Errorf("no Job %s", name)
			continue
		}
		if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit < 1 {
			t.Errorf("Job %s: set backoffLimit", name)
		}
		if j.Spec.TTLSecondsAfterFinished == nil {
			t.Errorf("Job %s: set ttlSecondsAfterFinished", name)
		}
		if j.Spec.ActiveDeadlineSeconds == nil {
			t.Errorf("Job %s: set activeDeadlineSeconds (a stuck Job must fail the rollout)", name)
		}
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			t.Errorf("Job %s: restartPolicy %q", name, rp)
		}
		if j.Labels["app.kubernetes.io/component"] != component {
			t.Errorf("Job %s: label app.kubernetes.io/component=%s (the runbook applies it by that label)", name, component)
		}
	}
	for _, j := range objects[*batchv1.Job](m) {
		if _, ok := rolloutJobs[j.Name]; !ok {
			t.Errorf("Job %s: not among the test's rolloutJobs", j.Name)
		}
	}
}

// The optional Secret with Temporal's client certificate, and where the
// API and the worker mount it.
const (
	temporalTLSSecret = "talkturo-temporal-tls"
	temporalTLSDir    = "/etc/talkturo/temporal-tls"
)

// TestTemporalTLSVolume: the API, the worker and the search-attributes
// Job, which dial Temporal, mount the Secret talkturo-temporal-tls
// read-only at /etc/talkturo/temporal-tls, and optional, so that the
// default install (Temporal in the cluster, in plaintext) starts without
// it; the ConfigMap's commented example and the README's name the files of
// a `kubectl create secret tls` Secret in that folder, and so does any
// TEMPORAL_TLS_* value set. The migrate Job dials no Temporal and mounts
// nothing of it.
func TestTemporalTLSVolume(t *testing.T) {
	m := load(t)
	pods := map[string]*corev1.PodSpec{}
	for _, name := range []string{"talkturo-api", "talkturo-worker"} {
		if d := m.deployment(name); d != nil {
			pods["Deployment "+name] = &d.Spec.Template.Spec
		} else {
			t.Errorf("no Deployment %s", name)
		}
	}
	if j := m.job("talkturo-search-attributes"); j != nil {
		pods["Job talkturo-search-attributes"] = &j.Spec.Template.Spec
	} else {
		t.Error("no Job talkturo-search-attributes")
	}
	for name, ps := range pods {
		var vol *corev1.Volume
		for i := range ps.Volumes {
			if v := &ps.Volumes[i]; v.Secret != nil && v.Secret.SecretName == temporalTLSSecret {
				vol = v
			}
		}
		if vol == nil || vol.Secret.Optional == nil || !*vol.Secret.Optional {
			t.Errorf("%s: want the Secret %s as an optional volume", name, temporalTLSSecret)
			continue
		}
		mounted := slices.ContainsFunc(ps.Containers[0].VolumeMounts, func(vm corev1.VolumeMount) bool {
			return vm.Name == vol.Name && vm.MountPath == temporalTLSDir && vm.ReadOnly
		})
		if !mounted {
			t.Errorf("%s: the volume %s must be mounted read-only at %s", name, vol.Name, temporalTLSDir)
		}
	}
	// The ConfigMap ships the TLS variables commented out (the default
	// install is plaintext); what an operator uncomments, there or from
	// the README, must name the files a `kubectl create secret tls`
	// Secret holds (tls.crt, tls.key) in the mounted folder, and so must
	// any value set.
	want := map[string]string{"TEMPORAL_TLS_CERT": temporalTLSDir + "/tls.crt", "TEMPORAL_TLS_KEY": temporalTLSDir + "/tls.key"}
	for _, file := range []string{"k8s/configmap.yaml", "../README.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		example := commentedTLSVariables(string(data))
		if !maps.Equal(example, want) {
			t.Errorf("%s: the commented TLS example sets %v, want %v", file, example, want)
		}
	}
	for _, file := range []string{"k8s/secret.example.yaml", "../README.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "kubectl -n talkturo create secret tls "+temporalTLSSecret+" ") {
			t.Errorf("%s: no `kubectl -n talkturo create secret tls %s` making the Secret the Deployments mount", file, temporalTLSSecret)
		}
	}
	for _, k := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"} {
		if v, ok := m.configMap(t).Data[k]; ok && v != "" && !strings.HasPrefix(v, temporalTLSDir+"/") {
			t.Errorf("ConfigMap %s: %s %q is not a file of the mounted Secret (%s/…)", configMapName, k, v, temporalTLSDir)
		}
	}
	if j := m.job("talkturo-migrate"); j != nil {
		for _, v := range j.Spec.Template.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == temporalTLSSecret {
				t.Errorf("Job talkturo-migrate mounts %s, which migrate never reads", temporalTLSSecret)
			}
		}
	}
}

// commentedTLSLine is a commented-out `TEMPORAL_TLS_*: "value"` line of a
// ConfigMap example.
var commentedTLSLine = regexp.MustCompile(`(?m)^\s*#\s+(TEMPORAL_TLS_[A-Z_]+):\s*"([^"]*)"\s*$`)

// commentedTLSVariables are the TEMPORAL_TLS_* variables of text's
// commented-out example lines, and their values.
func commentedTLSVariables(text string) map[string]string {
	vars := map[string]string{}
	for _, m := range commentedTLSLine.FindAllStringSubmatch(text, -1) {
		vars[m[1]] = m[2]
	}
	return vars
}

// TestConfiguration: the ConfigMap and the Secret hold what production
// needs, only variables the README's Configuration table documents, none of
// the dev-only ones, valid values, and placeholders in the Secret template.
func TestConfiguration(t *testing.T) {
	m := load(t)
	documented := readmeVariables(t)
	for _, v := range devOnlyVars {
		if !documented[v] {
			t.Errorf("the test's dev-only %s is not in the README's table; update devOnlyVars", v)
		}
	}
	cm, sec := m.configMap(t), m.secret(t)
	if len(cm.BinaryData) > 0 {
		t.Errorf("ConfigMap %s: binaryData is not configuration", cm.Name)
	}
	secretKeys := map[string]string{}
	for k, v := range sec.Data {
		secretKeys[k] = string(v)
	}
	for k, v := range sec.StringData {
		secretKeys[k] = v
	}
	for what, keys := range map[string][]string{"ConfigMap " + cm.Name: slices.Collect(maps.Keys(cm.Data)), "Secret " + sec.Name: slices.Collect(maps.Keys(secretKeys))} {
		for _, k := range keys {
			if !documented[k] {
				t.Errorf("%s sets %s, which the README's Configuration table does not document", what, k)
			}
			if slices.Contains(devOnlyVars, k) {
				t.Errorf("%s sets %s, which only `talkturo dev` reads", what, k)
			}
		}
	}
	for _, k := range requiredConfig {
		if _, ok := cm.Data[k]; !ok {
			t.Errorf("ConfigMap %s lacks %s", cm.Name, k)
		}
		if _, ok := secretKeys[k]; ok {
			t.Errorf("%s is in the Secret too; one source per variable", k)
		}
	}
	for _, k := range requiredSecret {
		if _, ok := secretKeys[k]; !ok {
			t.Errorf("Secret %s lacks %s", sec.Name, k)
		}
		if _, ok := cm.Data[k]; ok {
			t.Errorf("ConfigMap %s holds the secret %s", cm.Name, k)
		}
	}
	for k, v := range secretKeys {
		if !strings.Contains(v, "CHANGE_ME") {
			t.Errorf("%s: %s must be a CHANGE_ME placeholder; real values come from the secret manager", secretTemplate, k)
		}
	}
	if !strings.HasPrefix(secretKeys["DATABASE_URL"], "postgres://") {
		t.Errorf("%s: DATABASE_URL should show the postgres:// form", secretTemplate)
	}

	// Values that start-up would refuse, or that cannot work in a pod.
	for _, k := range []string{"HTTP_ADDR", "METRICS_ADDR"} {
		host, _, err := net.SplitHostPort(config(t, m, k))
		if err != nil || (host != "0.0.0.0" && host != "" && host != "::") {
			t.Errorf("%s %q must listen on all interfaces (0.0.0.0:PORT), or nothing outside the pod reaches it", k, config(t, m, k))
		}
	}
	if _, _, err := net.SplitHostPort(config(t, m, "TEMPORAL_ADDRESS")); err != nil {
		t.Errorf("TEMPORAL_ADDRESS: %v", err)
	}
	for _, k := range []string{"TRIAL_DURATION", "PURCHASE_WAIT", "BILLING_GRACE_PERIOD", "SHUTDOWN_TIMEOUT"} {
		duration(t, m, k)
	}
	if v, ok := cm.Data["TELNYX_TIMEOUT"]; ok {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			t.Errorf("TELNYX_TIMEOUT %q is not a positive duration", v)
		}
	}
	if u, err := url.Parse(config(t, m, "TELNYX_BASE_URL")); err != nil || u.Scheme != "https" || u.Host == "" {
		t.Errorf("TELNYX_BASE_URL %q must be an https URL in production", config(t, m, "TELNYX_BASE_URL"))
	}
	if config(t, m, "LOG_FORMAT") != "json" {
		t.Error("LOG_FORMAT must be json in production")
	}
	if v, ok := cm.Data["LOG_LEVEL"]; ok && !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(v)) {
		t.Errorf("LOG_LEVEL %q", v)
	}
	if !regexp.MustCompile(`^(starter|growth|scale)=\d+(,(starter|growth|scale)=\d+)*$`).MatchString(config(t, m, "PLAN_LIMITS")) {
		t.Errorf("PLAN_LIMITS %q is not plan=limit pairs of paid plans", config(t, m, "PLAN_LIMITS"))
	}
	if config(t, m, "TEMPORAL_NAMESPACE") == "" || config(t, m, "TEMPORAL_TASK_QUEUE") == "" {
		t.Error("TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE must not be empty")
	}
}

// addrPort is the port of a host:port variable of the ConfigMap.
func addrPort(t *testing.T, m *manifests, key string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(config(t, m, key))
	n, perr := strconv.ParseInt(port, 10, 32)
	if err != nil || perr != nil || n <= 0 {
		t.Fatalf("%s %q has no port", key, config(t, m, key))
	}
	return int32(n)
}

// readmeVariables parses the variables of ../README.md's Configuration
// table (rows "| `NAME` | default | meaning |").
func readmeVariables(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\|\\s*`([A-Z][A-Z0-9_]*)`\\s*\\|")
	vars := map[string]bool{}
	in := false
	for line := range strings.Lines(string(data)) {
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(line) == "## Configuration"
		case in:
			if mm := row.FindStringSubmatch(line); mm != nil {
				vars[mm[1]] = true
			}
		}
	}
	if len(vars) < 10 {
		t.Fatalf("found %d variables in the README's Configuration table; has its layout changed?", len(vars))
	}
	return vars
}

// TestTemporalValues: the Helm values persist to PostgreSQL, create the
// namespace the app uses, keep passwords out, and the app's
// TEMPORAL_ADDRESS is the chart's frontend Service.
func TestTemporalValues(t *testing.T) {
	m := load(t)
	data, err := os.ReadFile(temporalValues)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", temporalValues, err)
	}
	get := func(path string) any {
		var cur any = v
		for _, k := range strings.Split(path, ".") {
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = mm[k]
		}
		return cur
	}
	str := func(path string) string { s, _ := get(path).(string); return s }

	persistence := "server.config.persistence"
	for _, store := range []string{"defaultStore", "visibilityStore"} {
		name := str(persistence + "." + store)
		sql := persistence + ".datastores." + name + ".sql"
		if name == "" || get(sql) == nil {
			t.Errorf("%s: %s names no SQL datastore", temporalValues, store)
			continue
		}
		if !strings.HasPrefix(str(sql+".pluginName"), "postgres12") {
			t.Errorf("%s: %s plugin %q, want postgres12 (PostgreSQL 12+)", temporalValues, name, str(sql+".pluginName"))
		}
		if get(sql+".manageSchema") != true {
			t.Errorf("%s: %s: manageSchema true lets the chart set up and upgrade the schema", temporalValues, name)
		}
		if str(sql+".databaseName") == "" || str(sql+".connectAddr") == "" {
			t.Errorf("%s: %s needs databaseName and connectAddr", temporalValues, name)
		}
		if get(sql+".password") != nil || str(sql+".existingSecret") == "" {
			t.Errorf("%s: %s: the password comes from existingSecret, never from the values", temporalValues, name)
		}
	}
	if str(persistence+".datastores."+str(persistence+".defaultStore")+".sql.databaseName") ==
		str(persistence+".datastores."+str(persistence+".visibilityStore")+".sql.databaseName") {
		t.Errorf("%s: the default and visibility stores need separate databases", temporalValues)
	}
	if n, ok := get(persistence + ".numHistoryShards").(float64); !ok || n < 1 {
		t.Errorf("%s: set numHistoryShards (it cannot change later)", temporalValues)
	}

	ns := config(t, m, "TEMPORAL_NAMESPACE")
	if get("server.config.namespaces.create") != true {
		t.Errorf("%s: server.config.namespaces.create must be true", temporalValues)
	}
	list, _ := get("server.config.namespaces.namespace").([]any)
	var retention string
	for _, e := range list {
		if em, ok := e.(map[string]any); ok && em["name"] == ns {
			retention, _ = em["retention"].(string)
		}
	}
	if retention == "" {
		t.Errorf("%s: the namespace %q (TEMPORAL_NAMESPACE) must be created, with a retention", temporalValues, ns)
	}

	// TEMPORAL_ADDRESS = <fullname>-frontend.<chart namespace>:<port>.
	port := 7233.0
	if p, ok := get("server.frontend.service.port").(float64); ok {
		port = p
	}
	full := str("fullnameOverride")
	if full == "" {
		t.Fatalf("%s: set fullnameOverride so that Service names do not depend on the release name", temporalValues)
	}
	want := fmt.Sprintf("%s-frontend.%s.svc.cluster.local:%d", full, temporalNamespace, int(port))
	if got := config(t, m, "TEMPORAL_ADDRESS"); got != want {
		t.Errorf("TEMPORAL_ADDRESS %q, want the chart's frontend Service %q", got, want)
	}

	// The server must do Update-With-Start (1.28+).
	if tag := str("server.image.tag"); !versionAtLeast(tag, 1, 28) {
		t.Errorf("%s: server.image.tag %q; Update-With-Start needs Temporal 1.28 or newer", temporalValues, tag)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func versionAtLeast(v string, major, minor int) bool {
	mm := regexp.MustCompile(`^v?(\d+)\.(\d+)`).FindStringSubmatch(v)
	if mm == nil {
		return false
	}
	a, _ := strconv.Atoi(mm[1])
	b, _ := strconv.Atoi(mm[2])
	return a > major || (a == major && b >= minor)
}

// TestDockerfile reads deploy/Dockerfile (it cannot be built here): a Go
// builder of go.mod's minor with a module cache mount and a static build of
// ./cmd/talkturo without the devstack tag, a distroless or slim runtime, a
// numeric non-root USER the pods run as, and talkturo as the exec-form
// ENTRYPOINT.
func TestDockerfile(t *testing.T) {
	ins := dockerfileInstructions(t)
	var froms []string
	var runs []string
	var user, entrypoint string
	var copies []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "RUN":
			runs = append(runs, in.args)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			copies = append(copies, in.args)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile: want a multi-stage build, got FROM %v", froms)
	}

	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mm := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)(?:\.(\d+))?`).FindSubmatch(goMod)
	if mm == nil {
		t.Fatal("../go.mod has no go line")
	}
	builder := regexp.MustCompile(`^golang:(\d+)\.(\d+)(?:\.(\d+))?(-[\w.-]+)?\s+AS\s+(\w+)$`).FindStringSubmatch(froms[0])
	if builder == nil {
		t.Fatalf("Dockerfile: the first stage %q must be FROM golang:<version> AS <name>", froms[0])
	}
	// The same minor as go.mod; a pinned patch no older than go.mod's (a
	// floating golang:1.26 is the newest patch).
	if builder[1] != string(mm[1]) || builder[2] != string(mm[2]) {
		t.Errorf("Dockerfile: builder golang:%s.%s, but go.mod says go %s.%s", builder[1], builder[2], mm[1], mm[2])
	} else if builder[3] != "" && len(mm[3]) > 0 {
		if b, g := atoi(builder[3]), atoi(string(mm[3])); b < g {
			t.Errorf("Dockerfile: builder golang:%s.%s.%d is older than go.mod's go %s.%s.%d", builder[1], builder[2], b, mm[1], mm[2], g)
		}
	}
	var cached, static bool
	for _, r := range runs {
		if strings.Contains(r, "--mount=type=cache,target=/go/pkg/mod") {
			cached = true
		}
		if strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "go build") && strings.Contains(r, "./cmd/talkturo") {
			static = true
		}
	}
	if !cached {
		t.Error("Dockerfile: no RUN with --mount=type=cache,target=/go/pkg/mod")
	}
	if !static {
		t.Error("Dockerfile: no RUN building ./cmd/talkturo with CGO_ENABLED=0")
	}
	// The production binary: the devstack tag would link `talkturo dev`'s
	// embedded Temporal server and Web UI (cmd/talkturo/nodev.go), whether
	// given to go build or through GOFLAGS in an ENV or ARG.
	for _, in := range ins {
		if strings.Contains(in.args, "devstack") {
			t.Errorf("Dockerfile: %s %s builds with the devstack tag; the image is the production binary, without it", in.cmd, in.args)
		}
	}
	runtime := froms[len(froms)-1]
	if !strings.HasPrefix(runtime, "gcr.io/distroless/") && !regexp.MustCompile(`^debian:[\w.-]*slim`).MatchString(runtime) {
		t.Errorf("Dockerfile: runtime %q is neither distroless nor debian slim", runtime)
	}
	if !slices.ContainsFunc(copies, func(c string) bool { return strings.HasPrefix(c, "--from="+builder[5]+" ") }) {
		t.Errorf("Dockerfile: the runtime stage copies nothing from %s", builder[5])
	}
	if uid := dockerfileUID(t); uid == 0 {
		t.Errorf("Dockerfile: USER %q must be a non-zero numeric uid (runAsNonRoot can only verify numbers)", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) != 1 || filepath.Base(ep[0]) != "talkturo" {
		t.Errorf("Dockerfile: ENTRYPOINT %q must be the exec form [\"/path/to/talkturo\"] (manifests give the subcommand as args)", entrypoint)
	} else if !slices.ContainsFunc(copies, func(c string) bool { return strings.HasSuffix(c, " "+ep[0]) }) {
		t.Errorf("Dockerfile: nothing is copied to the ENTRYPOINT %s", ep[0])
	}

	ignore, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".git", ".data", "bin"} {
		if !slices.Contains(strings.Fields(string(ignore)), p) {
			t.Errorf("Dockerfile.dockerignore: %s must stay out of the build context", p)
		}
	}
}

type instruction struct{ cmd, args string }

// dockerfileInstructions reads deploy/Dockerfile into instructions,
// joining continuation lines and dropping comments.
func dockerfileInstructions(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		s := strings.TrimSpace(line)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if strings.HasSuffix(s, "\\") {
			cur.WriteString(strings.TrimSuffix(s, "\\") + " ")
			continue
		}
		cur.WriteString(s)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatal("Dockerfile ends in a continuation line")
	}
	return out
}

// dockerfileUID is the numeric uid of the Dockerfile's last USER.
func dockerfileUID(t *testing.T) int64 {
	t.Helper()
	var user string
	for _, in := range dockerfileInstructions(t) {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile: USER %q is not numeric", user)
	}
	return n
}
