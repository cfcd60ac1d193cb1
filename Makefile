# Referral backend. The two commands: `make dev` (local stack) and `make test` (all tests).
SHELL := /bin/bash
GO ?= go

# Lambda build flags: provided.al2023 on arm64, no RPC shim, stripped.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

# Every function of template.yaml, read from it (only `make build` needs the list).
FUNCTIONS = $(shell awk '/^  [A-Za-z0-9]+:$$/ { id = substr($$1, 1, length($$1) - 1) } \
                         /^    Type: AWS::Serverless::Function$$/ { print id }' template.yaml)

# Amazon DynamoDB Local, as the npm package amplify-dynamodb-simulator ships it under emulator/.
# Only the package's own tarball is fetched (its dependencies are 347 MB of Amplify CLI that the
# jar does not need), checked against this SHA-512 and unpacked where `npm ci` puts packages.
DYNAMODB_LOCAL_PACKAGE := amplify-dynamodb-simulator@2.9.30
DYNAMODB_LOCAL_SHA512  := c5379e44bbf311fab2779961ddb1f8734907bd21c79a6843e590ec1c5280439836665e89aa515dbad6908422c7cf1129e91cb5a3b4c1ea7888a17b9002749ec1
DYNAMODB_LOCAL := node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar

# AWS's Lambda Runtime Interface Emulator, built from its Go module at this version (`make invoke`).
RIE_MODULE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
RIE := .local/bin/aws-lambda-rie

.PHONY: dev dev-reset dynamodb-local invoke tick lint test build emails screenshots bench fuzz clean

## dev: the whole stack on this machine (HTTP API :3000, Lambda Invoke API :3001, DynamoDB :8000,
## SES viewer :8005); DynamoDB Local when Java 17+ is installed, else the embedded engine
# The stack runs as a built binary, not under `go run`, so Ctrl-C reaches it once (a second
# Ctrl-C means "quit at once").
dev: node_modules/.package-lock.json $(DYNAMODB_LOCAL)
	@$(GO) build -o .local/bin/devstack ./devkit/cmd/devstack
	@.local/bin/devstack $(DEVFLAGS)

## tick: run the scheduled functions of the running `make dev` now (its POST /_local/tick) and
## print what each run did; DEV_API_ADDR as for make dev
tick:
	@curl -sS --fail-with-body -X POST "http://$${DEV_API_ADDR:-127.0.0.1:3000}/_local/tick"

## dev-reset: forget the local stack's saved state (the table, the streams' positions, the DLQ)
dev-reset:
	rm -rf .local/state.json .local/dlq.jsonl .local/dynamodb .local/streams

## dynamodb-local: fetch Amazon DynamoDB Local (needs Java 17+ to run; `make dev` and `make test` use it)
dynamodb-local: $(DYNAMODB_LOCAL)
$(DYNAMODB_LOCAL): node_modules/.package-lock.json
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  echo "fetching $(DYNAMODB_LOCAL_PACKAGE) (Amazon DynamoDB Local, 55 MB)"; \
	  tgz=$$(cd $$tmp && npm pack --silent --loglevel=error $(DYNAMODB_LOCAL_PACKAGE)); \
	  echo "$(DYNAMODB_LOCAL_SHA512)  $$tmp/$$tgz" | sha512sum -c --quiet -; \
	  mkdir -p $$tmp/x && tar -xzf $$tmp/$$tgz -C $$tmp/x package/emulator package/package.json package/LICENSE; \
	  rm -rf node_modules/amplify-dynamodb-simulator && mv $$tmp/x/package node_modules/amplify-dynamodb-simulator

## invoke: the Docker-free `sam local invoke`: FUNCTION=ConversionsFunction EVENT=events/conversions-record.json
## [ENV_VARS=env.json]; runs the function once under AWS's Lambda Runtime Interface Emulator against
## the local stack's endpoints (start `make dev` first for a table) and prints the response and REPORT
invoke: $(RIE)
	@$(GO) run ./devkit/cmd/invoke -function "$(FUNCTION)" -event "$(EVENT)" $(if $(ENV_VARS),-env-vars "$(ENV_VARS)")

$(RIE):
	GOBIN=$(abspath $(dir $(RIE))) GOFLAGS=-mod=mod $(GO) install $(RIE_MODULE)

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

## test: lint, then every test with the race detector on the embedded engine (minidyn), then the
## DynamoDB-backed suites again on Amazon DynamoDB Local (needs Node for the SES emulator, Java 17+
## for DynamoDB Local, and cfn-lint and aws-sam-translator for the template tests: .ci/run finds them)
DB_SUITES := ./shared/store/... ./shared/api/... ./shared/email/... ./shared/insights/... ./shared/auth/... ./devkit/devstack/...
test: lint node_modules/.package-lock.json $(DYNAMODB_LOCAL) $(RIE)
	$(GO) test -race -count=1 -timeout 10m ./...
	DYNAMODB_ENGINE=local $(GO) test -count=1 -timeout 10m $(DB_SUITES)
	@echo "browser tests' screenshots: $(CURDIR)/.local/screenshots"

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

## screenshots: the pages people see, in a real browser (chromium), from `make dev`'s data (run
## `make dev` first) into .local/screenshots: the friend page and Ana's advocate page in every
## language, and the owner's console dashboard of the demo program, signed in with the dev admin key.
screenshots: node_modules/.package-lock.json
	@mkdir -p .local/screenshots
	$(GO) run ./devkit/cmd/screenshots -out .local/screenshots
	@ls -1 .local/screenshots

## emails: render the 8 templates × 5 languages with sample data into .local/emails (HTML + text)
emails:
	$(GO) run ./shared/email/cmd/samples .local/emails

## bench: round trips, handler overhead, engine, binary sizes, cold starts, local throughput (on
## DynamoDB Local with Java 17+), the viral advocate, metrics and the cost model, measured now and
## written to docs/PERFORMANCE.md (a few minutes)
bench: node_modules/.package-lock.json $(DYNAMODB_LOCAL)
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
