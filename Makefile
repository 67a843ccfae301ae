# wod-deploy: `make demo` to try a backend, `make test` to prove it.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
ENV       ?= production
NAME      ?= demo
PYTEST    := $(BIN)/pytest

.PHONY: install docker browser demo test test-unit bench lint hosts-up hosts-down check drift clean

$(BIN)/wod-deploy: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/wod-deploy  ## .venv with wod-deploy, pyinfra and the test tools

docker:  ## a running Docker engine (installs Debian's docker.io as root when missing)
	scripts/docker-engine.sh

browser:  ## Debian's headless Chromium and chromedriver, for the portal test (installs them as root)
	scripts/browser.sh

hosts-up: install docker  ## a throwaway backend: make hosts-up [NAME=demo]
	$(BIN)/wod-deploy hosts up --role backend --name $(NAME)

hosts-down: install  ## remove every throwaway host
	$(BIN)/wod-deploy hosts down

demo: install docker  ## throwaway backend, converged, with a student login printed
	$(BIN)/wod-deploy demo --name $(NAME)

test: install docker browser  ## unit tests, then integration tests on throwaway hosts
	$(PYTEST) -ra --durations=25 tests

test-unit: install  ## no host needed
	$(PYTEST) -ra tests/unit

bench: install docker  ## wod-deploy beside upstream's Ansible on throwaway hosts: docs/benchmarks.md (not in make test)
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check wod_deploy facts deploys group_data inventories tests bench config.py

check: install  ## read-only compliance: make check ENV=production (exit 2 = drift, 1 = not checkable)
	$(BIN)/wod-deploy check inventories/$(ENV).py --json check-$(ENV).json --junit check-$(ENV).xml

drift: install  ## compliance plus every operation a converge would run: make drift ENV=production
	$(BIN)/wod-deploy drift inventories/$(ENV).py --json drift-$(ENV).json --junit drift-$(ENV).xml

clean:
	rm -rf $(VENV) .pytest_cache
