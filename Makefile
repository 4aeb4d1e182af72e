# Talkturo phone numbers. `make run` and `make test` are the two commands a
# newcomer needs; see README.md.
GO        ?= go
BIN       := bin/talkturo
PKGS      := ./...
# Tests that start real PostgreSQL schemas and Temporal servers are slow to
# link; a generous timeout keeps a cold CI machine from flaking.
TESTFLAGS ?= -count=1 -timeout 30m

.PHONY: build run test test-race vet clean bench

build:
	$(GO) build -o $(BIN) ./cmd/talkturo

run: build
	./$(BIN) dev

test: vet
	$(GO) test $(TESTFLAGS) $(PKGS)

test-race:
	$(GO) test -race $(TESTFLAGS) $(PKGS)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin

# Purchase latency through the API (Temporal included) against the same work
# without Temporal, at two simulated order latencies. Needs PostgreSQL.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkPurchase' -benchtime 200x -count 1 ./cmd/talkturo/
