# OKXBot Plus. Two commands matter: `make demo` and `make test` (both build .venv on first use).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench lock clean notebook

$(STAMP): requirements.lock pyproject.toml
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "OKXBot Plus needs CPython 3.11, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

$(VENV): $(STAMP)

demo: $(STAMP)
	$(BIN)/okxbot demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env -q

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m bench.run

notebook: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Keeps every pin of the current lock (-c) and resolves only what is new in requirements.in;
# delete a package's line from requirements.lock to let it move.
lock:
	rm -rf /tmp/okxbot-lock && $(PY) -m venv /tmp/okxbot-lock
	/tmp/okxbot-lock/bin/pip install --quiet -r requirements.in -c requirements.lock
	(echo "# Pinned environment for CPython 3.11, resolved from requirements.in by 'make lock'. Do not edit by hand."; \
	 /tmp/okxbot-lock/bin/pip freeze) > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
