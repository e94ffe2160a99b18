# The two front-door commands are `make repro` and `make test`; both need only Python (3.11 to 3.13).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP = $(VENV)/.installed$(if $(filter 1,$(GPU)),-gpu,)
# GPU=1: the NVIDIA (CUDA 12) builds of JAX and TensorFlow instead of the CPU ones (docs/backends.md).
GPU ?= 0
LOCK := $(if $(filter 1,$(GPU)),requirements-gpu.lock,requirements.lock)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: repro test venv data lab lock lock-check clean-venv bench-gpu departures

venv: $(STAMP)

# The venv is rebuilt when the lock or the package metadata changes.
$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), sys.version' 2>/dev/null || \
		{ echo "error: Python 3.11, 3.12 or 3.13 is needed (found '$(PYTHON)'); install one or run make PYTHON=/path/to/python3.12"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned dependencies into $(VENV) (first run: about 2 GB, a few minutes)"
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Puts the bundled sample (Jan-Oct 2013) into data/ when data/ is absent; never touches an existing data/.
data:
	@if [ ! -d data ]; then mkdir -p data && cp examples/sample_data/*.csv data/ && echo "data/: copied the bundled sample (2013-01 .. 2013-10)"; fi

# Stage commands call `python`, so the venv goes first on PATH. `lstm-utils repro` is `dvc repro`
# with the strategy stages side by side (JOBS at a time; default: one per core); the same dvc.lock.
JOBS ?=
repro: $(STAMP) data
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m lstm_utils repro $(if $(JOBS),-j $(JOBS),)

# The second example (docs/many-series.md, "A second example") as a project of its own
# in build/departures (left as it is when it exists), and its pipeline run there.
departures: $(STAMP)
	@if [ ! -d build/departures ]; then PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python scripts/example_project.py departures build/departures --no-repro; fi
	cd build/departures && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/dvc repro

# JupyterLab on notebooks/, with the project's environment as the kernel.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

lock:
	$(BIN)/python -m pip install --quiet uv
	# one lock for Python 3.11 to 3.13 and every platform (markers where they differ)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header requirements.in -o requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
		--no-header requirements-gpu.in -o requirements-gpu.lock

# Checks that every pin of requirements.lock has a wheel (hash-matched) for CPython 3.12 and 3.13 on
# Linux x86-64, without those Pythons: pip's dry run resolves the lock as they would (the one sdist,
# antlr4-python3-runtime, is pure Python). Needs the package registry.
MANYLINUX := $(foreach m,2_34 2_31 2_28 2_27 2_24 2_17 2_12 2_5,--platform manylinux_$(m)_x86_64)
lock-check: $(STAMP)
	for v in 3.12 3.13; do \
		$(BIN)/python -m pip install --dry-run --quiet --ignore-installed --no-deps --require-hashes \
			--python-version $$v --implementation cp --abi cp$$(echo $$v | tr -d .) --abi abi3 --abi none $(MANYLINUX) \
			--platform manylinux2014_x86_64 --platform linux_x86_64 --platform any --only-binary=:all: \
			--no-binary=antlr4-python3-runtime --target $$(mktemp -d) -r requirements.lock || exit 1; \
		echo "requirements.lock: every pin has a wheel for CPython $$v (Linux x86-64)"; \
	done

clean-venv:
	rm -rf $(VENV)

# Windows/s on this machine's GPU and CPU, against a plain cuDNN LSTM where PyTorch is installed.
bench-gpu: $(STAMP)
	$(BIN)/python bench/throughput.py --backends jax tensorflow --units 16 64 --batch-sizes 64 1024 --epochs 5
