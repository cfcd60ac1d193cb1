# Referral backend. The two commands: `make dev` (local stack) and `make test` (all tests).
SHELL := /bin/bash
GO ?= go

# Lambda build flags: provided.al2023 on arm64, no RPC shim, stripped.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

# Every function of template.yaml, read from it (only `make build` needs the list).
FUNCTIONS = $(shell awk '/^  [A-Za-z0-9]+:$$/ { id = substr($$1, 1, length($$1) - 1) } \
                         /^    Type: AWS::Serverless::Function$$/ { print id }' template.yaml)

.PHONY: dev dev-reset lint test build emails bench fuzz clean

## dev: the whole stack on this machine (HTTP API :3000, DynamoDB :8000, SES viewer :8005)
# The stack runs as a built binary, not under `go run`, so Ctrl-C reaches it once (a second
# Ctrl-C means "quit without saving").
dev: node_modules/.package-lock.json
	@$(GO) build -o .local/bin/devstack ./local
	@.local/bin/devstack $(DEVFLAGS)

## dev-reset: forget the local stack's saved state
dev-reset:
	rm -f .local/state.json .local/dlq.jsonl

# npm writes node_modules/.package-lock.json only after a complete install, so an interrupted
# install is redone and a finished one is not repeated.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

## lint: gofmt, go vet and staticcheck (the version pinned by go.mod's tool directive)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## test: lint, then every test with the race detector (needs Node for the SES emulator, and
## cfn-lint and aws-sam-translator for the template tests: .ci/run finds them)
test: lint node_modules/.package-lock.json
	$(GO) test -race -count=1 -timeout 8m ./...

## build: every function for Lambda into .aws-sam-like folders under .build/
build: $(addprefix build-,$(FUNCTIONS))

# sam build (BuildMethod: makefile) runs `make build-<LogicalId>` with ARTIFACTS_DIR set. A
# function's logical ID names its folder: XxxYyyFunction is ./functions/xxxyyy (a logical ID
# without that folder has no build target).
ARTIFACTS_DIR ?= .build/$(@:build-%=%)
function_dir = functions/$(shell echo '$(1)' | tr '[:upper:]' '[:lower:]')

.SECONDEXPANSION:
build-%Function: $$(call function_dir,$$*)/main.go
	mkdir -p "$(ARTIFACTS_DIR)" && $(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" ./$(call function_dir,$*)

## emails: render the 5 templates × 5 languages with sample data into .local/emails (HTML + text)
emails:
	$(GO) run ./shared/email/cmd/samples .local/emails

## bench: round trips, handler overhead, engine, binary sizes, cold starts, local throughput and
## the cost model, measured now and written to docs/PERFORMANCE.md (a few minutes)
bench: node_modules/.package-lock.json
	$(GO) run ./bench

## fuzz: run every Fuzz target under shared/ for FUZZTIME each (default 60s; add -parallel=1 to
## FUZZFLAGS on a busy machine). `make test` runs their seed corpora (events/, testdata/fuzz).
## A bare "context deadline exceeded" with no failing input written is Go 1.26's fuzz
## coordinator missing its own deadline under load (go.dev/issue/75804), not a finding.
FUZZTIME ?= 60s
FUZZFLAGS ?= -fuzzminimizetime=10s
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' shared | xargs -r -n1 dirname | sort -u); do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2 | sort -u); do \
	    echo "== fuzz ./$$dir $$target for $(FUZZTIME)"; \
	    if $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $(FUZZFLAGS) ./$$dir 2>&1 | tee $$log; \
	       [ $${PIPESTATUS[0]} -eq 0 ]; then continue; fi; \
	    if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	      echo "== $$target: no failing input; the fuzz coordinator missed its deadline (go.dev/issue/75804)"; continue; fi; \
	    exit 1; \
	  done; \
	done

clean:
	rm -rf .build .aws-sam
