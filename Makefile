# Switchboard — the two commands on a fresh machine are `make run` and `make test`.
GO        ?= go
BIN       := bin
PLUGINS   := plugins/webchat
CONFIG    ?= config/dev.yaml
TESTFLAGS ?= -timeout 25m

.PHONY: run build test bench proto lint test-deps clean

## run: build everything and start the hub on the development configuration
run: build
	./$(BIN)/switchboard -config $(CONFIG)

## build: the hub and every plugin binary into bin/
build:
	$(GO) build -o $(BIN)/ ./core/cmd/switchboard $(addprefix ./,$(PLUGINS))

## test: every test (installs what the tests need from the system when missing)
test: test-deps build
	$(GO) vet ./...
	SWITCHBOARD_RACE=1 $(GO) test -race $(TESTFLAGS) ./...

## test-deps: system packages the tests use (chromium for browser tests)
test-deps:
	@./tools/test-deps.sh

## bench: the benchmarks and the end-to-end load figures
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./core/store/sqlite/ ./sdk/richtext/ ./core/routing/
	$(GO) test -run '^$$' -bench PluginStreamRoundTrip -benchtime 20000x ./core/e2e/
	$(GO) test -run '^$$' -bench EndToEnd -benchtime 1x -timeout 20m ./core/e2e/

## proto: regenerate sdk/proto with the pinned generators
proto:
	./tools/proto.sh

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
