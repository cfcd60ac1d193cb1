# Referral backend. The two commands: `make dev` (local stack) and `make test` (all tests).
SHELL := /bin/bash
GO ?= go

# Lambda build flags: provided.al2023 on arm64, no RPC shim, stripped.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

# Every function in template.yaml: logical ID → ./functions/<lower-case name without Function>.
FUNCTIONS := ProgramsFunction CustomersFunction CodesFunction PublicCodesFunction \
             ReferralsFunction ConversionsFunction RewardsFunction

.PHONY: dev dev-reset test test-go test-race lint build emails bench fuzz clean node_modules $(addprefix build-,$(FUNCTIONS))

## dev: the whole stack on this machine (HTTP API :3000, DynamoDB :8000, SES viewer :8005)
dev: node_modules
	$(GO) run ./local

## dev-reset: forget the local stack's saved state
dev-reset:
	rm -f .local/state.json .local/dlq.jsonl

node_modules: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules

## test: format, vet, and every test with the race detector (needs Node for the SES emulator)
test: node_modules
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 8m ./...

## build: every function for Lambda into .aws-sam-like folders under .build/
build: $(addprefix build-,$(FUNCTIONS))

# sam build (BuildMethod: makefile) runs build-<LogicalId> with ARTIFACTS_DIR set; one target
# per function in template.yaml (the template test checks they match).
ARTIFACTS_DIR ?= .build/$(@:build-%=%)
lambda = mkdir -p "$(ARTIFACTS_DIR)" && $(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(1)

build-ProgramsFunction:    ; $(call lambda,programs)
build-CustomersFunction:   ; $(call lambda,customers)
build-CodesFunction:       ; $(call lambda,codes)
build-PublicCodesFunction: ; $(call lambda,publiccodes)
build-ReferralsFunction:   ; $(call lambda,referrals)
build-ConversionsFunction: ; $(call lambda,conversions)
build-RewardsFunction:     ; $(call lambda,rewards)

clean:
	rm -rf .build .aws-sam
