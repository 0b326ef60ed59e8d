# The Go tool's targets, each a thin call of an npm script or of the built CLI.
# `make help` lists them.
.DEFAULT_GOAL := help
CLI := node dist/github-copilot-svcs.mjs

.PHONY: help build run auth models config clean test tray bench binary

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-8s %s\n", $$1, $$2 }'

node_modules: package-lock.json
	npm ci --no-audit --no-fund

build: node_modules ## bundle src/ into dist/ (npm run build)
	npm run build

run: build ## run the proxy in the foreground
	$(CLI) run

auth: build ## sign in to GitHub (device flow)
	$(CLI) auth

models: build ## list the Copilot models
	$(CLI) models

config: build ## show the effective configuration and where each value comes from
	$(CLI) config

tray: build ## start the tray app (the proxy runs as its child)
	$(CLI) tray

test: node_modules ## run every test (npm test)
	npm test

bench: build ## run the benchmarks (npm run bench; make bench ARGS=startup)
	npm run bench -- $(ARGS)

binary: node_modules ## single-file executables into release/ (make binary TARGET=linux-x64|...|all; default: this machine)
	npm run build:binary -- $(if $(TARGET),--target $(TARGET),)

clean: ## remove build output and test artifacts
	rm -rf dist release bench-results test-artifacts
