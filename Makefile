# wod-deploy: `make demo` to try a backend, `make test` to prove it.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
ENV       ?= production
NAME      ?= demo
PYTEST    := $(BIN)/pytest

.PHONY: install docker demo test test-unit test-integration lint hosts-up hosts-down check clean

$(BIN)/wod-deploy: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/wod-deploy  ## .venv with wod-deploy, pyinfra and the test tools

docker:  ## a running Docker engine (installs Debian's docker.io as root when missing)
	scripts/docker-engine.sh

hosts-up: install docker  ## a throwaway backend: make hosts-up [NAME=demo]
	$(BIN)/wod-deploy hosts up --role backend --name $(NAME)

hosts-down: install  ## remove every throwaway host
	$(BIN)/wod-deploy hosts down

demo: install docker  ## throwaway backend, converged, with a student login printed
	$(BIN)/wod-deploy demo --name $(NAME)

test: install docker  ## unit tests, then integration tests on throwaway hosts
	$(PYTEST) -ra tests

test-unit: install  ## no host needed
	$(PYTEST) -ra tests/unit

lint: install
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check wod_deploy facts deploys group_data inventories tests

check: install  ## what a converge would change, read-only (dry run): make check ENV=production
	$(BIN)/pyinfra inventories/$(ENV).py deploys/backend.py --dry

clean:
	rm -rf $(VENV) .pytest_cache
