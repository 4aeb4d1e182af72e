# Talkturo phone numbers. `make run` and `make test` are the two commands a
# newcomer needs; see README.md.
GO        ?= go
BIN       := bin/talkturo
PKGS      := ./...
# `talkturo dev` and the stack it embeds (the Temporal server, its Web UI,
# PostgreSQL bootstrapping) are behind this build tag. bin/talkturo and the
# tests are built with it (every target alike, so they share compiled
# packages); the production binary (deploy/Dockerfile) is not, and links
# none of them (cmd/talkturo/nodev.go).
DEVTAGS   := -tags devstack
# Tests that start real PostgreSQL schemas and Temporal servers are slow to
# link; a generous timeout keeps a cold CI machine from flaking.
TESTFLAGS ?= -count=1 -timeout 30m

.PHONY: build build-production run reset test test-race vet lint workflowcheck clean bench deploy-check crashloop fuzz load

build:
	$(GO) build $(DEVTAGS) -o $(BIN) ./cmd/talkturo

# The production binary (no devstack tag), as deploy/Dockerfile builds it:
# what the load tool runs as its api and worker processes.
PRODBIN := bin/talkturo-production
build-production:
	$(GO) build -o $(PRODBIN) ./cmd/talkturo

run: build
	./$(BIN) dev

# Deletes what `make run` keeps (its database, Temporal's state, the demo
# account) after saying what and asking; RESET_FLAGS=--yes where no one can
# answer.
RESET_FLAGS ?=
reset: build
	./$(BIN) dev --reset $(RESET_FLAGS)

test: vet workflowcheck deploy-check
	$(GO) test $(DEVTAGS) $(TESTFLAGS) $(PKGS)

test-race:
	$(GO) test -race $(DEVTAGS) $(TESTFLAGS) $(PKGS)

# gofmt, and go vet of both builds: everything with the tag, and
# cmd/talkturo without it (nodev.go is the production build's alone).
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet $(DEVTAGS) $(PKGS)
	$(GO) vet ./cmd/talkturo

# workflowcheck, Temporal's determinism linter (time.Now, goroutines, map
# ranges, … in workflow code); `go run pkg@version` leaves go.mod alone. A
# false positive is silenced with a //workflowcheck:ignore comment.
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

# Package workflows holds every workflow function (under a minute).
workflowcheck:
	$(GO) run $(WORKFLOWCHECK) ./workflows

# All of workflows/ (replay/'s tests import devserver, which makes it load the
# Temporal server's sources: about two minutes), gofmt and go vet.
lint: vet
	$(GO) run $(WORKFLOWCHECK) ./workflows/...

clean:
	rm -rf bin

# The production manifests under deploy/ (their own Go module), checked
# without a cluster: strict decoding into the Kubernetes API types and the
# invariants of deploy/RUNBOOK.md.
deploy-check:
	cd deploy && $(GO) test -count=1 ./...

# Purchase latency through the API (Temporal included) against the same work
# without Temporal, at two simulated order latencies. Needs PostgreSQL.
bench:
	$(GO) test $(DEVTAGS) -run '^$$' -bench 'BenchmarkPurchase' -benchtime 200x -count 1 ./cmd/talkturo/

# The crash loop at full size: CRASHLOOP_PURCHASES purchases through two API
# processes while API and worker processes are SIGKILLed and restarted,
# with and without provider faults, then the invariants are checked.
# `make test` runs it with 20. CRASHLOOP_SEED=<n> replays a kill schedule.
CRASHLOOP_PURCHASES ?= 100
crashloop:
	CRASHLOOP_PURCHASES=$(CRASHLOOP_PURCHASES) $(GO) test $(DEVTAGS) -count=1 -timeout 60m -v -run '^TestCrashLoop' ./cmd/talkturo/

# Fuzzing: every Fuzz target of every package that has one, FUZZTIME each
# (go test fuzzes one target per run). Minimising each new input is capped
# at FUZZMINIMIZETIME: with Go's default of 60 s both workers can spend the
# whole run minimising and report 0 execs/s. A failing input is written to
# the package's testdata/fuzz/<target>/; commit it with the fix, as a
# regression seed that `make test` then runs.
FUZZTIME         ?= 30s
FUZZMINIMIZETIME ?= 5s
FUZZPKGS         ?= $(sort $(dir $(shell git grep -l '^func Fuzz' -- '*_test.go')))

fuzz:
	@set -e; for pkg in $(FUZZPKGS); do \
	  for target in $$($(GO) test $(DEVTAGS) -list '^Fuzz' ./$$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test $(DEVTAGS) -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./$$pkg; \
	  done; \
	done

# The load tool at full size (cmd/loadtest; flags: go run ./cmd/loadtest -h),
# with the binary it runs as its api and worker processes. About 21 minutes
# on 2 idle cores (31 on busy ones), 15 of them buying 10,000 trial numbers
# at about 11/s; LOADFLAGS='-timers 5000' takes 11. Needs PostgreSQL.
LOADFLAGS ?=
load: build-production
	$(GO) run ./cmd/loadtest -bin $(PRODBIN) $(LOADFLAGS)
