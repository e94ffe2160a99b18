# The two front-door commands are `make repro` and `make test`; both need only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: repro test venv data lock clean-venv

venv: $(STAMP)

# The venv is rebuilt when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Puts the bundled sample (Jan-Oct 2013) into data/ when data/ is absent; never touches an existing data/.
data:
	@if [ ! -d data ]; then mkdir -p data && cp examples/sample_data/*.csv data/ && echo "data/: copied the bundled sample (2013-01 .. 2013-10)"; fi

repro: data
	$(BIN)/dvc repro

test: $(STAMP)
	$(BIN)/python -m pytest

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes --no-header requirements.in -o requirements.lock

clean-venv:
	rm -rf $(VENV)
