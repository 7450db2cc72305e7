# The one entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
comma := ,
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
# `make test` runs the suite on this many pytest-xdist workers (CI has 2 cores; the container tests
# share one worker, so the image build overlaps the rest). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install node-clients run test test-fast test-browser chromium screenshots lint fmt fixtures fuzz bench bench-compare wrk-installed lock clean cluster haproxy podman containers-conf image-base image image-test clean-image bench-stalls docs profile stages jq

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@# aioflowdock (a real streaming client for tests/clients) declares `aiohttp (>=3.*)`, which
	@# pip >= 24.1 refuses to parse; pip 24.0, run from its wheel, installs it (its dependencies
	@# are in the dev extras above, pinned in constraints.txt).
	$(BIN)/pip download --quiet --no-deps --dest $(VENV)/pip-24.0 pip==24.0
	$(BIN)/python $(VENV)/pip-24.0/pip-24.0-py3-none-any.whl/pip install --quiet --no-deps \
		--disable-pip-version-check aioflowdock==0.2.2
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

NODE_CLIENTS := tests/clients/node
NODE_STAMP := $(NODE_CLIENTS)/node_modules/.installed

$(NODE_STAMP): $(NODE_CLIENTS)/package.json $(NODE_CLIENTS)/package-lock.json
	cd $(NODE_CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node-clients: $(NODE_STAMP) ## the npm streaming clients (node-flowdock, hubot, hubot-flowdock) from their lockfile

run: $(STAMP) ## serve the default dataset on $(HOST):$(PORT)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/flowdock-mock serve

# make cluster: worlds sharded over several mock processes behind HAProxy, on one port
# (docs/scaling-worlds.md). HAProxy is Debian's package; installed here when absent (needs root).
CLUSTER_PROCESSES ?= 2
haproxy: ## Debian's haproxy for `make cluster` and tests/cluster (apt-get; skipped when present)
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || \
		{ apt-get update && apt-get install -y --no-install-recommends haproxy; }

cluster: $(STAMP) haproxy ## $(CLUSTER_PROCESSES) mock processes (shards) behind HAProxy on $(HOST):$(PORT)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/flowdock-mock cluster --processes $(CLUSTER_PROCESSES)

test: $(STAMP) $(NODE_STAMP) lint docs chromium haproxy podman jq ## lint, the docs site, then the whole suite: spec, unit, api, contract (Schemathesis), real clients, browser, image
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

test-fast: $(STAMP) haproxy jq ## everything except the Schemathesis, real-client, browser and image runs
	$(BIN)/python -m pytest -m "not contract and not client and not browser and not container"

# The browser tests drive Debian's Chromium through Playwright (executable_path); Playwright never
# downloads a browser of its own. The install needs root, as CI runs; it is skipped when present.
CHROMIUM := /usr/bin/chromium
chromium: ## Debian's chromium for the browser tests (apt-get; skipped when $(CHROMIUM) exists)
	@test -x $(CHROMIUM) || { apt-get update && apt-get install -y --no-install-recommends chromium; }

test-browser: $(STAMP) chromium ## only the inspector and Swagger UI tests, in headless Chromium
	$(BIN)/python -m pytest tests/browser

screenshots: $(STAMP) chromium ## re-take the README's inspector screenshots (docs/images/)
	$(BIN)/python -m tests.browser.screenshots docs/images

# --- the CI service container: built and run with podman (Debian's), no Docker engine -----------
# No image registry may be reachable: the base is then assembled here from Debian packages with
# mmdebstrap (python3 and a venv first on PATH, as python:3.11-slim puts its own Python first) and
# handed to the same Dockerfile as BASE_IMAGE. `make image BASE_IMAGE=python:3.11-slim` builds on
# the official base where a registry answers. docs/containers.md explains every setting below.
IMAGE ?= flowdock-mock:latest
CONTAINER_DIR := $(CURDIR)/.container
LOCAL_BASE := localhost/flowdock-mock-base:bookworm
BASE_IMAGE ?= $(LOCAL_BASE)
BASE_TAR := $(CONTAINER_DIR)/base-bookworm.tar
# podman reads this file instead of /etc/containers/containers.conf: runc (crun cannot set the
# rlimits or drive hybrid cgroups here) and ulimits the host allows.
export CONTAINERS_CONF := $(CONTAINER_DIR)/containers.conf
# The CA bundle pip trusts for the package index reaches the build as a secret, never a layer.
PIP_CA ?= $(firstword $(wildcard $(PIP_CERT) /etc/ssl/certs/ca-certificates.crt))
# The Debian packages podman needs on a fresh Debian 12 (CI runs as root; absent ones only):
# netavark, the bridge network of rootful podman, calls iptables.
PODMAN_PACKAGES := podman runc conmon netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs mmdebstrap ca-certificates
DEBIAN_MIRROR ?= $(firstword $(wildcard /etc/apt/sources.list.d/debian.sources) http://deb.debian.org/debian)

# The docs test (tests/docs/test_examples.py) runs the documentation's shell examples, which use jq.
jq: ## Debian's jq for the documentation's examples (apt-get; skipped when present)
	@command -v jq >/dev/null || { apt-get update && apt-get install -y --no-install-recommends jq; }

podman: ## podman, runc and mmdebstrap from Debian (apt-get; skipped when all are present)
	@missing=$$(for p in $(PODMAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	test -z "$$missing" || { apt-get update && apt-get install -y --no-install-recommends $$missing; }

containers-conf: podman
	@mkdir -p $(CONTAINER_DIR)
	@hard=$$(ulimit -Hn); printf '%s\n' \
		'# Written by `make containers-conf`; podman reads it through CONTAINERS_CONF.' \
		'[containers]' \
		"default_ulimits = [\"nofile=$$hard:$$hard\", \"nproc=32768:32768\"]" \
		'[engine]' \
		'runtime = "runc"' \
		'cgroup_manager = "cgroupfs"' \
		'events_logger = "file"' > $(CONTAINERS_CONF).new
	@cmp -s $(CONTAINERS_CONF).new $(CONTAINERS_CONF) && rm $(CONTAINERS_CONF).new \
		|| mv $(CONTAINERS_CONF).new $(CONTAINERS_CONF)

$(BASE_TAR):
	@mkdir -p $(CONTAINER_DIR)
	mmdebstrap --variant=minbase --format=tar --include=python3,python3-venv,ca-certificates,tini \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='chroot "$$1" python3 -m venv /opt/venv' \
		--customize-hook='chroot "$$1" /opt/venv/bin/pip --version' \
		bookworm $(CONTAINER_DIR)/base-bookworm.tmp.tar $(DEBIAN_MIRROR)
	mv $(CONTAINER_DIR)/base-bookworm.tmp.tar $@

# The base image is kept in podman's store and its tarball in .container/: either one makes a
# repeat build skip mmdebstrap (45-90 s); `make clean-image` forgets both.
image-base: containers-conf ## the local base image (Debian bookworm, python3, a venv first on PATH, tini), cached
	@podman image exists $(LOCAL_BASE) || { $(MAKE) --no-print-directory $(BASE_TAR) && podman import \
		--change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' $(BASE_TAR) $(LOCAL_BASE); }

image: containers-conf $(if $(filter $(LOCAL_BASE),$(BASE_IMAGE)),image-base) ## build $(IMAGE) from the Dockerfile with podman (BASE_IMAGE=python:3.11-slim where a registry answers)
	podman build --format docker --build-arg BASE_IMAGE=$(BASE_IMAGE) \
		$(if $(PIP_CA),--secret id=pip-ca$(comma)src=$(PIP_CA)) \
		$(foreach v,PIP_INDEX_URL PIP_EXTRA_INDEX_URL,$(if $($(v)),--build-arg $(v)=$($(v)))) \
		--tag $(IMAGE) .
	@podman image inspect --format 'image {{.RepoTags}}: {{.Size}} bytes' $(IMAGE)

clean-image: ## forget the built images and the cached base
	-podman rmi --force $(IMAGE) $(LOCAL_BASE)
	rm -rf $(CONTAINER_DIR)

image-test: $(STAMP) image ## run the image and check it (port, health, SIGTERM, uid, env, fixtures, Testcontainers)
	FLOWDOCK_MOCK_IMAGE=$(IMAGE) $(BIN)/python -m pytest tests/container -p no:cacheprovider

# The documentation site (mkdocs.yml): docs/*.md, README.md as its home page and two reference pages
# generated from the code (docs/hooks.py); every warning is an error, so a broken link or anchor, or a
# page left out of the navigation, fails the build. `make test` builds it; open site/index.html.
docs: $(STAMP) ## build the documentation site into site/ (MkDocs, warnings as errors)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

LINTED := mock_server tests fixtures bench docs

lint: $(STAMP) ## ruff (lint and format check), mypy (strict, on mock_server), actionlint (.github/workflows)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/actionlint

fmt: $(STAMP) ## format and autofix
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

fixtures: $(STAMP) ## regenerate fixtures/default-world.json from the Faker generator
	$(BIN)/python -m mock_server.world --write fixtures/default-world.json

WRK := $(shell command -v wrk 2>/dev/null)
BENCH_ARGS ?=

wrk-installed:
ifeq ($(WRK),)
	apt-get update && apt-get install -y wrk
endif

# make fuzz: Schemathesis's CLI over HTTP against a live mock in strict mode (the contract exactly),
# every phase and check of schemathesis.toml, many more examples than `make test` and a fresh seed
# (FUZZ_SEED=n replays one). The server is started on 127.0.0.1 for this run and always stopped.
# FUZZ_STRICT=0 fuzzes the default, compatible mode instead, without negative_data_rejection: that
# mode accepts legacy forms the contract calls invalid, by design (schemathesis.toml).
FUZZ_STRICT ?= 1
FUZZ_PORT ?= 18089
FUZZ_EXAMPLES ?= 300
FUZZ_MAX_TIME ?= 1800
FUZZ_SEED ?=
fuzz: $(STAMP) ## Schemathesis CLI vs a live server, long run; JUnit + HTML reports in reports/
	@mkdir -p reports
	@FLOWDOCK_MOCK_STRICT=$(FUZZ_STRICT) timeout $$(( $(FUZZ_MAX_TIME) + 300 )) $(BIN)/flowdock-mock serve \
		--host 127.0.0.1 --port $(FUZZ_PORT) > reports/fuzz-server.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null' EXIT; \
	for _ in $$(seq 100); do \
		$(BIN)/flowdock-mock health --url http://127.0.0.1:$(FUZZ_PORT) >/dev/null 2>&1 && break; sleep 0.2; \
	done; \
	token=$$($(BIN)/python -c 'import json, sys, urllib.parse, urllib.request; \
		from mock_server.world import MAIN_USER as u, OAUTH_APP as a; \
		form = urllib.parse.urlencode(dict(grant_type="password", client_id=a["client_id"], \
			client_secret=a["client_secret"], username=u["email"], password=u["password"], \
			scope="flow private manage profile offline_access integration")).encode(); \
		req = urllib.request.Request(sys.argv[1] + "/oauth/token", form, {"Accept": "application/json"}); \
		print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])' \
		http://127.0.0.1:$(FUZZ_PORT)) || { echo "fuzz: the server did not start (reports/fuzz-server.log)"; exit 1; }; \
	FLOWDOCK_MOCK_OAUTH_TOKEN=$$token $(BIN)/schemathesis run http://127.0.0.1:$(FUZZ_PORT)/openapi.json \
		--max-examples $(FUZZ_EXAMPLES) --max-time $(FUZZ_MAX_TIME) --request-timeout 10 \
		$(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) \
		$(if $(filter 0,$(FUZZ_STRICT)),--exclude-checks negative_data_rejection) \
		--report junit,html --report-dir reports \
		--report-junit-path reports/fuzz-junit.xml --report-html-path reports/fuzz-html

bench: $(STAMP) wrk-installed ## load, latency, startup and memory of the server (wrk; table in .bench/latest.md)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

bench-stalls: $(STAMP) ## how long one heavy request (regex wait, long tags, big world, 50k import) holds up GET /flows, and its RSS
	$(BIN)/python bench/stalls.py $(STALLS_ARGS)

bench-compare: $(STAMP) wrk-installed ## the same load alternately against Prism 5 (npm, into bench/.prism), with ratios
	$(BIN)/python bench/bench.py --compare $(BENCH_ARGS)

profile: $(STAMP) wrk-installed ## py-spy under the bench's load: flame graph .bench/profile.svg, top frames printed
	$(BIN)/python bench/profile.py $(PROFILE_ARGS)

stages: $(STAMP) wrk-installed ## each pipeline stage's CPU per request, served under the bench's load and in-process
	$(BIN)/python bench/stages.py $(STAGES_ARGS)

lock: $(STAMP) ## re-pin constraints.txt from the current environment
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.tmp && mv constraints.tmp constraints.txt

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis reports
