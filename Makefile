# Veil task runner. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: help install browser postgresql protos check-protos lint format test test-every-database fuzz soak demo bench bench-env clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# Installs resolve with uv (pinned below): the same versions pip resolves (checked with
# `pip freeze` on both), in about a third of pip's two minutes, which the CI's 30-minute budget
# needs. uv does not read pip's configuration, so the wheels pip is pointed at (PIP_FIND_LINKS:
# this machine's CPU build of torch; PIP_INDEX_URL / PIP_EXTRA_INDEX_URL) are passed on; should uv
# fail for any reason, pip installs exactly as before. --compile-bytecode writes the .pyc files at
# install, as pip does: where PYTHONDONTWRITEBYTECODE is set (this machine, its CI) nothing writes
# them later, and every process would compile matplotlib, torch and the rest again at each import
# (the first uv CI took 21 min for the parallel tests instead of 14).
UV_VERSION := 0.13.9
EXTRAS := dp,reports,web,scale,dev
# $(call install_into,<venv>,<pip install arguments>)
define install_into
{ $(1)/bin/pip install -q "uv==$(UV_VERSION)" && \
  UV_FIND_LINKS="$${UV_FIND_LINKS:-$${PIP_FIND_LINKS:-}}" \
  UV_INDEX_URL="$${UV_INDEX_URL:-$${PIP_INDEX_URL:-}}" \
  UV_EXTRA_INDEX_URL="$${UV_EXTRA_INDEX_URL:-$${PIP_EXTRA_INDEX_URL:-}}" \
  $(1)/bin/uv pip install -q --compile-bytecode --python $(1)/bin/python $(2); } || { \
  echo "uv could not install into $(1); installing with pip"; \
  $(1)/bin/pip install -q --upgrade pip && $(1)/bin/pip install -q $(2); }
endef

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(call install_into,$(VENV),-e ".[$(EXTRAS)]")
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## create the venv and install Veil with every extra

PG_BIN ?= /usr/lib/postgresql/15/bin

postgresql: ## install PostgreSQL 15's server binaries if missing (the tests start their own cluster)
	@test -x $(PG_BIN)/initdb || { \
	  echo "installing PostgreSQL 15 for the tests (they start a throwaway cluster of their own)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; }

protos: $(STAMP) ## regenerate Python code and mypy stubs from protos/
	$(PY) scripts/gen_protos.py

check-protos: protos ## fail when committed generated code differs from a fresh generation
	@git diff --quiet --exit-code -- client/veil && test -z "$$(git status --porcelain -- client/veil)" \
	  || (echo "generated code is stale: run 'make protos' and commit"; git status --short -- client/veil; exit 1)

LINT_PATHS := service client/veil_client client/veil_wire tests bench scripts

lint: $(STAMP) ## ruff check + format check, mypy --strict, buf lint (+ breaking vs previous commit), hadolint
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy service/veil_service client/veil_client client/veil_wire
	cd protos && ../$(VENV)/bin/buf lint
	@if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:protos/buf.yaml 2>/dev/null; then \
	  cd protos && ../$(VENV)/bin/buf breaking --against '../.git#ref=HEAD~1,subdir=protos'; fi
	$(VENV)/bin/hadolint Dockerfile

format: $(STAMP) ## rewrite the code with ruff's formatter and autofixes
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

# The browser tests (tests/e2e/web) drive Debian's chromium with the playwright package, which is
# pointed at /usr/bin/chromium: Playwright's own browser download is never used.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser: ## install Debian's chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-liberation fonts-dejavu-core; }

# Screenshots of every page the browser tests visit are kept there (outside the repository).
WEB_SCREENSHOTS ?= $(or $(TMPDIR),/tmp)/veil-web-screenshots

# make test runs the suite on TEST_WORKERS processes (pytest-xdist; worksteal keeps each worker on
# contiguous tests, so module fixtures and the per-backend servers start about once per worker),
# then the tests marked serial (they measure wall-clock time) alone. Both parts always run.
TEST_WORKERS ?= 2
PYTEST := VEIL_WEB_SCREENSHOTS=$(WEB_SCREENSHOTS) $(VENV)/bin/pytest -p no:cacheprovider -q
RUN_SUITE = status=0; \
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal --durations=30 -m "not serial" || status=1; \
	$(PYTEST) --durations=15 -m serial || status=1; \
	exit $$status

test: $(STAMP) check-protos browser postgresql ## install and run the whole test suite (SQLite and PostgreSQL)
	$(RUN_SUITE)

test-every-database: $(STAMP) check-protos browser postgresql ## make test with the e2e walks on PostgreSQL too
	export VEIL_E2E_EVERY_DATABASE=1; $(RUN_SUITE)

FUZZ_EXAMPLES ?= 500

fuzz: $(STAMP) ## long random fuzz of every RPC and of the YAML/metadata parsers (make test runs a short fixed one)
	VEIL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -p no:cacheprovider -q tests/security/test_fuzz.py

soak: $(STAMP) ## the repeated and statistical tests at full length (make test runs them short)
	VEIL_SOAK=1 $(VENV)/bin/pytest -p no:cacheprovider -q -m soak

demo: $(STAMP) ## start Veil on embedded defaults and run the main job end to end
	$(PY) scripts/demo.py

BENCH_VENV := bench/.venv-bench

$(BENCH_VENV)/.installed: bench/requirements-avatarize.txt bench/requirements-metrics.txt bench/requirements-multitable.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(call install_into,$(BENCH_VENV),-r bench/requirements-avatarize.txt -r bench/requirements-metrics.txt -r bench/requirements-multitable.txt)
	@touch $@

bench-env: $(BENCH_VENV)/.installed ## the separate venv of the baselines (SDV, anonymeter, scikit-fda)

bench: $(STAMP) bench-env ## run the benchmarks (not part of `make test`)
	$(PY) bench/stream.py
	$(PY) bench/avatarize.py
	$(PY) bench/metrics.py
	$(PY) bench/attacks_search.py
	$(PY) bench/dpquery.py
	$(PY) bench/e2e.py
	$(PY) bench/multitable.py
	$(PY) bench/scale.py
	$(PY) bench/dp_avatar.py

clean: ## remove the venv and local state
	rm -rf $(VENV) veil-data demo-output .mypy_cache .ruff_cache
