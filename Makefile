# The two commands (see README.md):
#   make dev    set up everything, then run the dev network (RPC on http://127.0.0.1:8545)
#   make test   set up everything, then run the whole test suite
# Extra arguments for the dev node go in ARGS, e.g. `make dev ARGS="--tmp --block-time 2"`.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tools/solc/node_modules/.installed
JS_STAMP   := tests/js/node_modules/.installed

.PHONY: dev test setup bench clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	@touch $@

$(NODE_STAMP): tools/solc/package.json tools/solc/package-lock.json
	cd tools/solc && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dev: setup
	$(VENV)/bin/autonomys dev $(ARGS)

test: setup $(JS_STAMP)
	PATH="$(CURDIR)/tools/solc/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(ARGS)

bench: setup
	PATH="$(CURDIR)/tools/solc/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) tools/solc/node_modules
