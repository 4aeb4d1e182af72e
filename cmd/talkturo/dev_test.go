package main

// End-to-end tests of `talkturo dev`, the command `make run` runs: the real
// binary, started as a user starts it, killed as a machine kills it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

// devProcess is one running `talkturo dev`.
type devProcess struct {
	cmd     *exec.Cmd
	token   string
	teamID  string
	plan    string // as the banner prints it
	dbLine  string // the banner's PostgreSQL line
	metrics string // the banner's metrics URL
	api     string
	exited  chan error
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// devStackTag is the build tag that adds `talkturo dev` (nodev.go).
const devStackTag = "devstack"

// buildBinary builds talkturo with the dev stack (as `make build` does),
// once for all the tests that run it, whatever tags the tests themselves
// were built with: the dev tests need it, and api, worker and serve run
// the same code in either build (linking the Temporal server takes a
// while, so one build serves them all).
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "talkturo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "talkturo")
		if out, err := exec.Command("go", "build", "-tags", devStackTag, "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

var (
	tokenLine    = regexp.MustCompile(`Demo token\s+(\S+)`)
	teamLine     = regexp.MustCompile(`Demo team\s+(\S+)(?: \((\w+) plan\))?`)
	postgresLine = regexp.MustCompile(`PostgreSQL\s+(.+)`)
	metricsLine  = regexp.MustCompile(`Metrics\s+(http://\S+/metrics)`)
)

func startDev(t *testing.T, bin string, env []string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, exited: make(chan error, 1)}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := teamLine.FindStringSubmatch(line); m != nil {
				p.teamID, p.plan = m[1], m[2]
			}
			if m := postgresLine.FindStringSubmatch(line); m != nil {
				p.dbLine = m[1]
			}
			if m := metricsLine.FindStringSubmatch(line); m != nil {
				p.metrics = m[1]
			}
			if m := tokenLine.FindStringSubmatch(line); m != nil {
				p.token = m[1]
				close(found)
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case <-found:
	case err := <-p.exited:
		t.Fatalf("talkturo dev exited before printing a token: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("talkturo dev printed no token within 90s")
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HTTP_ADDR="); ok {
			p.api = "http://" + v
		}
	}
	return p
}

func TestDevStartsEverythingAndResumesAfterAKill(t *testing.T) {
	bin := buildBinary(t)
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	uiAddr := testkit.FreeAddr(t)
	_, uiPort, _ := net.SplitHostPort(uiAddr)
	metricsAddr := testkit.FreeAddr(t)
	env := []string{
		"TALKTURO_DATA_DIR=" + t.TempDir(),
		"DATABASE_URL=" + pgtest.NewSchema(t),
		"HTTP_ADDR=" + testkit.FreeAddr(t),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", port),
		"TEMPORAL_UI_PORT=" + uiPort,
		"TELNYX_SIM_ADDR=" + testkit.FreeAddr(t),
		"TELNYX_SIM_ORDER_LATENCY=0s",
		"TRIAL_DURATION=12s",
		"TELNYX_API_KEY=",
		"METRICS_ADDR=" + metricsAddr,
	}
	dev := startDev(t, bin, env)

	// The seed's search with the printed token.
	status, body := call(t, "POST", dev.api+"/api/phone-numbers/search", dev.token, map[string]any{"filters": map[string]any{"countryCode": "US", "areaCode": "415", "numberType": "local", "limit": 10}})
	if status != 200 || body["count"].(float64) != 10 {
		t.Fatalf("search: %d %v", status, body)
	}
	resp, err := http.Get("http://" + uiAddr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Temporal UI: %v %v", resp, err)
	}
	resp.Body.Close()
	if st, ready := call(t, "GET", dev.api+"/readyz", "", nil); st != 200 {
		t.Fatalf("readyz: %d %v", st, ready)
	}
	// Metrics on METRICS_ADDR, not on the API's port.
	if m := scrape(t, "http://"+metricsAddr+"/metrics"); !strings.Contains(m, `talkturo_http_requests_total{method="POST",route="/api/phone-numbers/search",status="200"} 1`) {
		t.Errorf("METRICS_ADDR's /metrics does not count the search:\n%s", m)
	}
	if st, _ := call(t, "GET", dev.api+"/metrics", "", nil); st != 404 {
		t.Errorf("GET /metrics on the API's port: %d, want 404", st)
	}

	// A trial number, then every process killed without warning.
	number := body["numbers"].([]any)[0].(map[string]any)["phoneNumber"].(string)
	status, bought := call(t, "POST", dev.api+"/api/phone-numbers/purchase", dev.token, map[string]any{"phoneNumber": number, "teamId": dev.teamID})
	if status != 200 || bought["phoneNumber"].(map[string]any)["is_trial"] != true {
		t.Fatalf("purchase: %d %v", status, bought)
	}
	id := bought["phoneNumber"].(map[string]any)["id"].(string)
	_ = dev.cmd.Process.Signal(syscall.SIGKILL)
	<-dev.exited

	// The next start resumes: same demo token, and the trial timer fires.
	again := startDev(t, bin, env)
	if again.token != dev.token || again.teamID != dev.teamID {
		t.Fatalf("the restart made a new demo account: %s/%s, was %s/%s", again.teamID, again.token, dev.teamID, dev.token)
	}
	db, err := persistence.Open(context.Background(), strings.TrimPrefix(env[1], "DATABASE_URL="), persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer persistence.Close(db)
	numbers := persistence.NewPhoneNumberStore(db)
	waitFor(t, 60*time.Second, func() bool {
		n, err := numbers.Get(context.Background(), dev.teamID, id)
		return err == nil && n.Status == domain.NumberExpired
	}, "the trial to expire after the kill and restart")

	// Ctrl-C stops it cleanly.
	_ = again.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-again.exited:
		if err != nil {
			t.Fatalf("talkturo dev exited with %v after Ctrl-C", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("talkturo dev did not stop within 45s of Ctrl-C")
	}
}
