# Switchboard — the two commands on a fresh machine are `make run` and `make test`.
GO        ?= go
BIN       := bin
PLUGINS   := plugins/webchat plugins/sms plugins/social bridges/matrix bridges/mattermost bridges/slack
CONFIG    ?= config/dev.yaml
TESTFLAGS ?= -timeout 25m
UI        := core/console/ui
UI_SRC    := $(shell find $(UI)/src -type f) $(UI)/build.mjs $(UI)/package-lock.json $(UI)/tsconfig.json

.PHONY: run build ui ui-check test bench proto dashboards lint test-deps clean

## run: build everything and start the hub on the development configuration
run: build
	./$(BIN)/switchboard -config $(CONFIG)

## build: the console's front end, the hub (which embeds it) and every plugin binary into bin/
build: ui
	$(GO) build -o $(BIN)/ ./core/cmd/switchboard $(addprefix ./,$(PLUGINS))

## ui: bundle the console (TypeScript + Preact, esbuild) into core/console/dist
ui: core/console/dist/console.js

core/console/dist/console.js: $(UI_SRC) $(UI)/node_modules/.package-lock.json
	cd $(UI) && npm run --silent build

$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json
	@command -v npm >/dev/null || { echo "The console is built with Node.js (18 or later) and npm: install them (Debian: apt-get install nodejs npm)." >&2; exit 1; }
	cd $(UI) && npm ci --no-audit --no-fund
	@touch $@

## ui-check: type-check the console
ui-check: $(UI)/node_modules/.package-lock.json
	cd $(UI) && npm run --silent check

## test: every test (installs what the tests need from the system when missing)
test: test-deps build ui-check
	$(GO) vet ./...
	SWITCHBOARD_RACE=1 $(GO) test -race $(TESTFLAGS) $$($(GO) list ./... | grep -v '/core/e2e$$')
	@# The end-to-end tests build and start the binaries themselves, so Go's test cache cannot
	@# see what they depend on: they always run.
	SWITCHBOARD_RACE=1 $(GO) test -race -count=1 $(TESTFLAGS) ./core/e2e/

## test-deps: system packages the tests use (chromium for browser tests)
test-deps:
	@./tools/test-deps.sh

## bench: the benchmarks and the end-to-end load figures
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./core/store/sqlite/ ./sdk/richtext/ ./core/routing/
	$(GO) test -run '^$$' -bench PluginStreamRoundTrip -benchtime 20000x ./core/e2e/
	$(GO) test -run '^$$' -bench EndToEnd -benchtime 1x -timeout 20m ./core/e2e/
	$(GO) test -run '^$$' -bench ConsoleLoad -benchtime 20x ./core/e2e/

## proto: regenerate sdk/proto with the pinned generators
proto:
	./tools/proto.sh

## dashboards: regenerate the Grafana dashboards (dashboards/*.json) from their Go code
dashboards:
	$(GO) generate ./dashboards

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) $(UI)/node_modules
	find core/console/dist -type f ! -name .gitkeep -delete
