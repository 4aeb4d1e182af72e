package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one `talkturo <role>` OS process.
type process struct {
	role       string
	cmd        *exec.Cmd
	logPath    string
	metricsURL string // the worker's METRICS_ADDR /metrics
	done       chan struct{}
}

// startProcess runs `bin role` with the environment (on top of this
// process's), its output in logDir/<role>.log.
func startProcess(_ context.Context, bin, role, logDir string, env []string) (*process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the talkturo binary %s: %w (build it with `make build`, or pass -bin)", bin, err)
	}
	logPath := filepath.Join(logDir, role+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, role)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should this process die without stopping them, they stop too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting talkturo %s: %w", role, err)
	}
	p := &process{role: role, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process to shut down (SIGTERM, as Kubernetes does) and
// kills it if it has not within its shutdown budget.
func (p *process) stop() error {
	select {
	case <-p.done:
		return fmt.Errorf("talkturo %s had exited before the end of the run (%s); its log is %s", p.role, p.cmd.ProcessState, p.logPath)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("talkturo %s did not stop within 40s of SIGTERM and was killed", p.role)
	}
}

// cpuSeconds is the CPU time (user and system) the process with this pid
// has used, from /proc/<pid>/stat ("self" for this one).
func cpuSeconds(pid string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %s: %w (this needs Linux's /proc)", pid, err)
	}
	// The command name, in parentheses, may hold spaces: count fields from
	// its end. utime and stime are fields 14 and 15, in USER_HZ (100) ticks.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("process %s: unexpected /proc stat %q", pid, b)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("process %s: unexpected /proc stat %q", pid, b)
	}
	return (utime + stime) / 100, nil
}

// Memory is what a process holds, in bytes.
type Memory struct {
	// RSS is VmRSS of /proc/<pid>/status: resident memory now.
	RSS int64 `json:"rssBytes"`
	// HWM is VmHWM: the most RSS ever was.
	HWM int64 `json:"hwmBytes"`
	// HeapInuse is go_memstats_heap_inuse_bytes of the process's /metrics
	// (0 when it serves none).
	HeapInuse int64 `json:"heapInuseBytes,omitempty"`
	// LastGC is when the Go runtime last collected (go_memstats_last_gc_time_seconds).
	LastGC time.Time `json:"lastGC,omitzero"`
}

// memory reads the process's memory now.
func (p *process) memory(ctx context.Context, hc *http.Client) (Memory, error) {
	var m Memory
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return m, fmt.Errorf("reading the memory of talkturo %s: %w (this needs Linux's /proc)", p.role, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSS = kb * 1024
		case "VmHWM":
			m.HWM = kb * 1024
		}
	}
	if p.metricsURL == "" {
		return m, nil
	}
	metrics, err := scrape(ctx, hc, p.metricsURL)
	if err != nil {
		return m, err
	}
	m.HeapInuse = int64(metrics["go_memstats_heap_inuse_bytes"])
	if s := metrics["go_memstats_last_gc_time_seconds"]; s > 0 {
		m.LastGC = time.Unix(0, int64(s*1e9))
	}
	return m, nil
}

// memoryAfterGC reads the process's memory once its Go runtime has
// collected garbage after since (the runtime does at least every two
// minutes), so that the heap is what is live rather than what the last
// burst left; it waits at most wait, and says whether a collection came.
func (p *process) memoryAfterGC(ctx context.Context, hc *http.Client, since time.Time, wait time.Duration) (Memory, bool, error) {
	deadline := time.Now().Add(wait)
	for {
		m, err := p.memory(ctx, hc)
		if err != nil {
			return m, false, err
		}
		if !m.LastGC.Before(since) {
			return m, true, nil
		}
		if time.Now().After(deadline) {
			return m, false, nil
		}
		select {
		case <-ctx.Done():
			return m, false, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// scrape reads the unlabelled samples of a Prometheus text exposition.
func scrape(ctx context.Context, hc *http.Client, u string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
