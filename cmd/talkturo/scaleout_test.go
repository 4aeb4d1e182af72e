package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// startProcess runs `talkturo <role>` as its own OS process with the
// stack's configuration, and waits until it is up.
func startProcess(t *testing.T, bin, role string, s *stack, extra ...string) (addr string) {
	t.Helper()
	addr = freeAddr(t)
	cmd := exec.Command(bin, role)
	cmd.Env = append(os.Environ(),
		"HTTP_ADDR="+addr,
		"DATABASE_URL="+s.cfg.DatabaseURL,
		"TEMPORAL_ADDRESS="+s.cfg.TemporalAddress,
		"TEMPORAL_TASK_QUEUE="+s.cfg.TemporalTaskQueue,
		"TELNYX_BASE_URL="+s.cfg.TelnyxBaseURL,
		"TELNYX_API_KEY="+s.cfg.TelnyxAPIKey,
		"TRIAL_DURATION="+s.cfg.TrialDuration.String(),
		"METRICS_ADDR=",
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	if role == "api" {
		waitFor(t, 60*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		}, role+" to answer /healthz")
	}
	return addr
}

// Two `talkturo api` and two `talkturo worker` OS processes against one
// PostgreSQL and one Temporal server: limits and trials hold as with one.
func TestTwoAPIAndTwoWorkerProcesses(t *testing.T) {
	bin := buildBinary(t)
	s := newStack(t, stackOptions{env: map[string]string{"TRIAL_DURATION": "5s"}})
	apis := []string{
		"http://" + startProcess(t, bin, "api", s),
		"http://" + startProcess(t, bin, "api", s),
	}
	startProcess(t, bin, "worker", s)
	startProcess(t, bin, "worker", s)

	team, token := s.team(domain.PlanStarter) // 3 slots
	free, freeToken := s.team(domain.PlanFree)
	var mu sync.Mutex
	okPaid, limited, trials := 0, 0, []string{}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			st, b := call(t, "POST", apis[i%2]+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": fmt.Sprintf("+1415555%04d", 4000+i), "teamId": team})
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
			st, b := call(t, "POST", apis[(i+1)%2]+"/api/phone-numbers/purchase", freeToken, map[string]any{"phoneNumber": fmt.Sprintf("+1415555%04d", 5000+i), "teamId": free})
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
	waitFor(t, 60*time.Second, func() bool {
		n, err := s.numbers.Get(context.Background(), free, trials[0])
		return err == nil && n.Status == domain.NumberExpired
	}, "the trial to expire on one of the worker processes")
	if owned := s.sim.OwnedNumbers(); len(owned) != 3 {
		t.Fatalf("the simulator holds %d numbers, want the 3 paid ones: %v", len(owned), owned)
	}
}
