package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// process is one `talkturo <role>` OS process with the stack's
// configuration. It can be killed and started again on the same address,
// as an orchestrator restarts a crashed pod.
type process struct {
	t    *testing.T
	bin  string
	role string
	addr string // HTTP_ADDR, kept across restarts
	env  []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startProcess starts `talkturo <role>` and waits until it is up; the
// test's cleanup stops it with SIGINT (SIGKILL after 20 s).
func startProcess(t *testing.T, bin, role string, s *stack, extra ...string) *process {
	t.Helper()
	p := &process{t: t, bin: bin, role: role, addr: testkit.FreeAddr(t)}
	p.env = append(os.Environ(),
		"HTTP_ADDR="+p.addr,
		"DATABASE_URL="+s.cfg.DatabaseURL,
		"TEMPORAL_ADDRESS="+s.cfg.TemporalAddress,
		"TEMPORAL_TASK_QUEUE="+s.cfg.TemporalTaskQueue,
		"TELNYX_BASE_URL="+s.cfg.TelnyxBaseURL,
		"TELNYX_API_KEY="+s.cfg.TelnyxAPIKey,
		"TRIAL_DURATION="+s.cfg.TrialDuration.String(),
		"PLAN_LIMITS="+s.cfg.PlanLimits,
		"TELNYX_TIMEOUT="+s.cfg.TelnyxTimeout.String(),
		"PURCHASE_WAIT="+s.cfg.PurchaseWait.String(),
		"RECONCILE_INTERVAL="+s.cfg.ReconcileInterval.String(),
		"RATE_LIMIT_SEARCH_PER_SECOND="+fmt.Sprint(s.cfg.RateLimitSearchPerSecond),
		"RATE_LIMIT_PURCHASE_PER_SECOND="+fmt.Sprint(s.cfg.RateLimitPurchasePerSecond),
		"METRICS_ADDR=",
		// Many processes share the machine's PostgreSQL with the other
		// tests: a small pool each.
		"DATABASE_MAX_CONNS=5",
	)
	p.env = append(p.env, extra...)
	if role == "api" {
		// Its exchanges are checked against api/openapi.json too.
		apiHosts.Store(p.addr, true)
		t.Cleanup(func() { apiHosts.Delete(p.addr) })
	}
	t.Cleanup(p.stop)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// url is the base URL of an API process.
func (p *process) url() string { return "http://" + p.addr }

// start runs the process and, for an API, waits until it answers /healthz.
// It may be called from any goroutine: it reports instead of failing.
func (p *process) start() error {
	cmd := exec.Command(p.bin, p.role)
	cmd.Env = p.env
	logs := &testkit.LogBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	if p.role != "api" {
		return nil
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return fmt.Errorf("talkturo %s exited while starting: %s", p.role, logs.String())
		default:
		}
		resp, err := http.Get(p.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	return fmt.Errorf("talkturo %s did not answer /healthz within 60 s", p.role)
}

// kill sends SIGKILL, as the kernel's OOM killer or a lost node would, and
// waits until the process is gone.
func (p *process) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// stop asks the process to shut down gracefully.
func (p *process) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Two `talkturo api` and two `talkturo worker` OS processes against one
// PostgreSQL and one Temporal server: limits and trials hold as with one.
func TestTwoAPIAndTwoWorkerProcesses(t *testing.T) {
	bin := buildBinary(t)
	s := newStack(t, stackOptions{env: map[string]string{"TRIAL_DURATION": "5s"}})
	apis := []string{startProcess(t, bin, "api", s).url(), startProcess(t, bin, "api", s).url()}
	startProcess(t, bin, "worker", s)
	startProcess(t, bin, "worker", s)

	team, token := s.team(domain.PlanStarter) // 3 slots
	free, freeToken := s.team(domain.PlanFree)
	var mu sync.Mutex
	okPaid, limited, trials := 0, 0, []string{}
	// Every customer searched first, so that only the limits refuse.
	paid, trial := s.offerSeries(4000, 30), s.offerSeries(5000, 10)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			st, b := call(t, "POST", apis[i%2]+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": paid[i], "teamId": team})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case st == 200:
				okPaid++
			case st == 403 && errCode(b) == domain.CodePlanLimitReached:
				limited++
			default:
				t.Errorf("paid purchase %d: %d %v", i, st, b)
			}
		})
		wg.Go(func() {
			if i >= 10 {
				return
			}
			st, b := call(t, "POST", apis[(i+1)%2]+"/api/phone-numbers/purchase", freeToken, map[string]any{"phoneNumber": trial[i], "teamId": free})
			if st == 200 {
				mu.Lock()
				trials = append(trials, b["phoneNumber"].(map[string]any)["id"].(string))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if okPaid != 3 || limited != 27 {
		t.Fatalf("%d paid purchases succeeded and %d were refused; want 3 and 27", okPaid, limited)
	}
	if len(trials) != 1 {
		t.Fatalf("%d trial numbers for the free team, want 1", len(trials))
	}
	s.waitForStatus(t, 60*time.Second, free, trials[0], domain.NumberExpired, "the trial to expire on one of the worker processes")
	if owned := s.sim.OwnedNumbers(); len(owned) != 3 {
		t.Fatalf("the simulator holds %d numbers, want the 3 paid ones: %v", len(owned), owned)
	}
}
