# av: run commands with AWS credentials from the aws-vault keyring and a throwaway ECR login.

GO      ?= go
GOBIN   ?= $(shell $(GO) env GOPATH)/bin
PREFIX  ?= /usr/local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# A static binary: nothing in av needs cgo on Linux, and the dynamic loader and cgo's
# start-up cost every run about 1.5 ms (aws-vault's Linux releases are static too).
export CGO_ENABLED := 0
# The Go toolchain: go.mod's `toolchain` line (go1.26.10; 1.26.8, which these machines
# have, has reachable vulnerabilities in net/http, crypto/tls and crypto/x509: govulncheck,
# below). The go command switches to it by itself, unless its go.env says GOTOOLCHAIN=local
# (Debian's and these machines' do): so it is the default here too, fetched from the module
# proxy once per machine. Only a default: a GOTOOLCHAIN of your own (local, or another
# version) wins.
GO_TOOLCHAIN := $(shell sed -n 's/^toolchain //p' go.mod)
export GOTOOLCHAIN ?= $(GO_TOOLCHAIN)
BUILDFLAGS := -trimpath -ldflags "$(LDFLAGS)"

# Tools the end-to-end tests and the demo run, pinned.
CRANE_VERSION    := v0.22.1
REGISTRY_VERSION := v3.1.2
ORAS_VERSION     := v1.3.6
HELM_VERSION     := v3.22.0
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
# govulncheck's database, built offline (tests/cmd/vulndb) from this snapshot of
# golang.org/x/vulndb as the module proxy serves it (vuln.go.dev cannot be reached from
# these machines): bump it to check against newer reports.
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
VULNDB              := .tools/vulndb
# Every Markdown file is linted by markdownlint-cli2 from npm, installed into .tools by
# `make lint-tools`; its settings, and why, are .markdownlint-cli2.jsonc. 0.17.2
# (markdownlint 0.37.4) is the newest that runs on Node 18, Debian 12's own (.ci/run
# installs it with apt); later ones want Node 20 or 22.
MARKDOWNLINT_VERSION := 0.17.2
MARKDOWNLINT_DIR     := .tools/markdownlint-$(MARKDOWNLINT_VERSION)
MARKDOWNLINT         := $(MARKDOWNLINT_DIR)/node_modules/.bin/markdownlint-cli2

export PATH := $(GOBIN):$(PATH)

# The patched keyring (go.mod's replace) is a module of its own, which ./... does not reach.
KEYRING_FORK := profiles/third_party/keyring

.PHONY: all build install test unit race fuzz e2e tools lint-tools demo bench lint cross clean

all: build

build:
	$(GO) build $(BUILDFLAGS) -o bin/av ./cmd/av

# A copy of bin/av, not the linker's own output: on Linux a file the linker wrote (through a
# mapping, a page at a time) starts about 0.5 ms slower than a copy written in large blocks,
# for as long as its pages stay cached (tests/cmd/av-bench/README.md, "Cost").
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/av $(DESTDIR)$(PREFIX)/bin/av

# Unit and end-to-end tests. The e2e tests build av and aws-vault themselves and start the
# AWS stand-in and registries; `tools` installs the registry, crane, oras and helm. The
# scripts that need skopeo, podman, docker, gpg/pass or gnome-keyring skip (outside CI)
# when those are missing: .ci/run shows how to install them.
test: tools
	$(GO) test -count=1 ./...
	cd $(KEYRING_FORK) && $(GO) test -count=1 ./...

UNIT_PKGS := ./cmd/... ./env/... ./profiles/... ./runner/...
unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# The unit packages under the race detector, which needs cgo (and a C compiler). No test
# here talks to a D-Bus: keyring, imported, must not start one (DBUS_SESSION_BUS_ADDRESS).
race:
	CGO_ENABLED=1 DBUS_SESSION_BUS_ADDRESS=disabled: $(GO) test -race -count=1 $(UNIT_PKGS)
	cd $(KEYRING_FORK) && CGO_ENABLED=1 DBUS_SESSION_BUS_ADDRESS=disabled: $(GO) test -race -count=1 ./...

# Every fuzz target of the unit packages, FUZZTIME each (make fuzz FUZZTIME=5m for a longer
# hunt). Each package's test binary is built once, instrumented (go test -c -fuzz), and run
# once per target in the package's directory, with go test's own corpus cache. An input that
# fails is left in the package's testdata/fuzz/FuzzX, where every later `go test` runs it:
# commit it with the fix. Go 1.26's fuzz coordinator can report its own -fuzztime deadline as
# a failure ("context deadline exceeded", no input written: golang/go#75804, fixed in 1.27);
# that alone is reported and passed over.
FUZZTIME ?= 8s
fuzz:
	@set -e; bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; cache=$$($(GO) env GOCACHE)/fuzz; \
	for pkg in $$($(GO) list $(UNIT_PKGS)); do \
		rm -f "$$bin/test"; \
		$(GO) test -c -fuzz . -o "$$bin/test" $$pkg; \
		[ -x "$$bin/test" ] || continue; \
		cd "$$($(GO) list -f '{{.Dir}}' $$pkg)"; \
		for target in $$("$$bin/test" -test.list '^Fuzz'); do \
			echo "$$pkg $$target, $(FUZZTIME)"; \
			inputs=$$(ls testdata/fuzz/$$target 2>/dev/null || true); rc=0; \
			DBUS_SESSION_BUS_ADDRESS=disabled: "$$bin/test" -test.run '^$$' -test.fuzz "^$$target\$$" \
				-test.fuzztime $(FUZZTIME) -test.fuzzcachedir "$$cache/$$pkg" >"$$bin/out" 2>&1 || rc=$$?; \
			cat "$$bin/out"; \
			if [ $$rc != 0 ]; then \
				if [ "$$(ls testdata/fuzz/$$target 2>/dev/null || true)" = "$$inputs" ] && \
					grep -qx '    context deadline exceeded' "$$bin/out"; then \
					echo "$$target: the fuzz coordinator's deadline race (golang/go#75804), no failing input: passed over"; \
				else exit $$rc; fi; \
			fi; \
		done; \
		cd "$(CURDIR)"; \
	done

e2e: tools
	$(GO) test -count=1 -v -run TestScripts ./tests/

# cmd/av's coverage by the end-to-end tests (tests/README.md): av built with -cover, the
# counters of every run merged into E2E_COVER, the figures printed even if a test failed.
E2E_COVER ?= .tools/e2e-cover
.PHONY: e2e-cover
e2e-cover: tools
	rm -rf $(E2E_COVER)
	AV_E2E_COVER=$(abspath $(E2E_COVER)) $(GO) test -count=1 ./tests/; rc=$$?; \
		$(GO) tool covdata percent -i $(E2E_COVER); exit $$rc

tools:
	@test -x $(GOBIN)/crane || $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)
	@test -x $(GOBIN)/registry || $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(REGISTRY_VERSION)
	@test -x $(GOBIN)/oras || $(GO) install oras.land/oras/cmd/oras@$(ORAS_VERSION)
	@test -x $(GOBIN)/helm || $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# What `make lint` needs beyond Go: the Markdown linter (npm, Node 18 or later).
lint-tools: $(MARKDOWNLINT)

$(MARKDOWNLINT):
	@command -v npm >/dev/null || { echo "make lint-tools: the Markdown linter comes from npm, which is not installed: apt-get install npm"; exit 1; }
	npm install --prefix $(MARKDOWNLINT_DIR) --no-save --no-audit --no-fund --loglevel=error markdownlint-cli2@$(MARKDOWNLINT_VERSION)

# A local, account-free run of av's main job: stand-in AWS, local registry, throwaway vault.
demo: tools
	$(GO) run ./tests/cmd/av-demo

# The token lifecycle's figures on this machine (tests/cmd/av-bench/README.md): warm path
# against /bin/true and aws-vault, cold path with 1, 16 and 64 runs at once, peak RSS. Not
# part of `make test`.
bench:
	$(GO) run ./tests/cmd/av-bench

# go vet, gofmt, a tidy go.mod, the ECR clients held (README.md, Dependencies), staticcheck,
# govulncheck; every Markdown file linted, and the links between them resolved
# (TestMarkdownLinks).
lint: tools lint-tools
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	@out=$$($(GO) list -deps ./cmd/av | grep -E '/service/ecr(public)?/schemas$$'); if [ -n "$$out" ]; then echo "av links the ECR clients' schema tables (0.5 ms of every run's start-up; README.md, Dependencies):"; echo "$$out"; exit 1; fi
	$(GOBIN)/staticcheck ./...
	cd $(KEYRING_FORK) && $(GO) vet ./... && $(GO) mod tidy -diff && $(GOBIN)/staticcheck ./...
	$(MARKDOWNLINT) $$(git ls-files '*.md')
	$(GO) test -count=1 -run '^TestMarkdownLinks$$' ./tests
	@$(MAKE) --no-print-directory check-toolchain
	$(GO) run ./tests/cmd/vulndb -version $(VULNDB_VERSION) -out $(VULNDB)
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) -db file://$(CURDIR)/$(VULNDB) ./...

# govulncheck judges the standard library of the Go that runs it: under a Go older than
# go.mod's toolchain it would judge a standard library av is not built with. Such a lint
# fails, naming the toolchain to use.
.PHONY: check-toolchain
check-toolchain:
	@have=$$($(GO) env GOVERSION); want=$(GO_TOOLCHAIN); \
	if [ "$$(printf '%s\n%s\n' "$$want" "$$have" | sort -V | head -n 1)" != "$$want" ]; then \
		echo "make lint: govulncheck must run under $$want (go.mod's toolchain) or newer, and this Go is $$have (GOTOOLCHAIN=$(GOTOOLCHAIN)): run \`GOTOOLCHAIN=$$want make lint\`"; \
		exit 1; \
	fi

# Vet and compile for the other platforms av supports, from any machine: the per-OS files
# (..._linux.go, ..._darwin.go) must keep building where nobody here can run them. A check
# only: without cgo, a darwin build lacks aws-vault's keychain backend.
cross:
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=darwin GOARCH=amd64 $(GO) vet ./...
	GOOS=darwin GOARCH=amd64 $(GO) build ./...
	GOOS=linux GOARCH=arm64 $(GO) vet ./...
	GOOS=linux GOARCH=arm64 $(GO) build ./...

clean:
	rm -rf bin
