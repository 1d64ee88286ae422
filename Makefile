# The two commands (see README.md):
#   make dev    set up everything, then run the dev network (RPC on http://127.0.0.1:8545)
#   make test   set up everything, then run the whole test suite
# Extra arguments for the dev node go in ARGS, e.g. `make dev ARGS="--tmp --sectors 2"`.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UV     := .tools/bin/uv
NODE_STAMP := tools/solc/node_modules/.installed
JS_STAMP   := tests/js/node_modules/.installed

.PHONY: dev test setup bench clean

setup: $(STAMP) $(NODE_STAMP)
	@$(PY) tools/solc/install_for_solcx.py --quiet

# uv (the installer) lives in its own small venv, so syncing the project's venv to the
# lock never removes the tool doing the syncing.
$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install -q --disable-pip-version-check uv==0.13.9

$(STAMP): $(UV) requirements.lock pyproject.toml setup.py $(wildcard chain/native/*.c chain/native/*.h)
	@test -x $(PY) || $(UV) venv -q --python $(PYTHON) $(VENV)
	$(UV) pip sync -q --python $(PY) requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps --reinstall-package autonomys -e .
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
	rm -rf $(VENV) .tools tools/solc/node_modules tests/js/node_modules
