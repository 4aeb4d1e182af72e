package main

// Tests of the production build, the one without the devstack tag
// (nodev.go): what it links, and what it answers to `talkturo dev`.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// devOnlyPackages are the import paths (with the packages under them)
// only the dev stack may link: the embedded Temporal server and Web UI,
// and our own wrappers of them and of a private PostgreSQL cluster (of
// the machine's PostgreSQL binaries: no library embeds one).
var devOnlyPackages = []string{
	"go.temporal.io/server",
	"github.com/temporalio/ui-server",
	"github.com/talkturo/phonenumbers/devserver",
	"github.com/talkturo/phonenumbers/persistence/devpostgres",
}

// goCommand runs the go command with its build tags named on the command
// line: a flag there wins over GOFLAGS, from the environment or from `go
// env -w` (where a gopls user may well have put -tags=devstack), so that
// "without the tag" means without it.
func goCommand(sub string, tags string, args ...string) *exec.Cmd {
	return exec.Command("go", append([]string{sub, "-tags=" + tags}, args...)...)
}

// deps lists the packages `go build` with these flags links into
// ./cmd/talkturo.
func deps(t *testing.T, tags string) []string {
	t.Helper()
	out, err := goCommand("list", tags, "-deps", ".").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -tags=%s -deps: %v\n%s", tags, err, stderr)
	}
	return strings.Fields(string(out))
}

// TestLeanBuildLinksNoDevStack: the production binary links none of the
// embedded Temporal server, its Web UI or the dev wrappers (most of the
// dev build's packages, build time and size), and the dev build links
// each of them, so the first half cannot pass by matching nothing.
func TestLeanBuildLinksNoDevStack(t *testing.T) {
	t.Parallel()
	count := func(pkgs []string, path string) int {
		n := 0
		for _, p := range pkgs {
			if p == path || strings.HasPrefix(p, path+"/") {
				n++
			}
		}
		return n
	}
	lean, dev := deps(t, ""), deps(t, devStackTag)
	for _, path := range devOnlyPackages {
		if n := count(lean, path); n > 0 {
			t.Errorf("the build without -tags %s links %d packages of %s", devStackTag, n, path)
		}
		if count(dev, path) == 0 {
			t.Errorf("the build with -tags %s links no package of %s: is this test still looking for the right thing?", devStackTag, path)
		}
	}
	t.Logf("packages linked: %d without -tags %s, %d with it", len(lean), devStackTag, len(dev))
}

// TestLeanBinaryAnswersDevWithHowToGetIt: the production binary answers
// every form of `talkturo dev` with one sentence naming `make run` and the
// tag, and exit status 2, whatever the configuration; its usage says the
// same, and the production commands are there.
func TestLeanBinaryAnswersDevWithHowToGetIt(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "talkturo-lean")
	if out, err := goCommand("build", "", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A bad configuration, which the answer must not depend on.
	bad := []string{"TRIAL_DURATION=soon", "PURCHASE_WAIT=40s", "REQUEST_TIMEOUT=30s"}
	for _, args := range [][]string{{"dev"}, {"dev", "--reset"}, {"dev", "--reset", "--yes"}, {"dev", "--help"}, {"help", "dev"}} {
		out, code := runBin(t, bin, bad, args...)
		line := strings.TrimSuffix(out, "\n")
		if code != 2 || strings.Contains(line, "\n") || !strings.Contains(line, "`make run`") || !strings.Contains(line, "go build -tags "+devStackTag+" ./cmd/talkturo") {
			t.Errorf("talkturo %s: exit %d\n%s\nwant exit 2 and one line naming `make run` and -tags %s", strings.Join(args, " "), code, out, devStackTag)
		}
	}
	out, code := runBin(t, bin, nil, "--help")
	devLine := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "talkturo dev") {
			devLine = l
		}
	}
	if code != 0 || !strings.Contains(devLine, "not in this build") || !strings.Contains(devLine, "-tags "+devStackTag) {
		t.Errorf("talkturo --help: exit %d, its dev line %q should say the command is not in this build and how to get it:\n%s", code, devLine, out)
	}
	for _, c := range []string{"serve", "api", "worker", "migrate", "admin bootstrap", "admin register-search-attributes", "telnyx-sim"} {
		if out, code := runBin(t, bin, nil, append(strings.Fields(c), "--help")...); code != 0 {
			t.Errorf("talkturo %s --help: exit %d\n%s", c, code, out)
		}
	}
}
