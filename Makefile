# anomaly-tutorial: `make lab` sets everything up and opens the course; `make test` checks it.
# The first target that needs it creates .venv with `python3 -m venv` (no conda needed) and
# installs the package with its dev tools; it reinstalls only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab test test-backends test-full data benchmark lint clean-venv

help:
	@echo "make lab        set up (first time) and open the notebooks in JupyterLab"
	@echo "make test       unit tests + every notebook in quick mode (what CI runs)"
	@echo "make test-backends  detector and save/load tests on Keras's JAX and PyTorch backends"
	@echo "make test-full  notebooks in full mode, compared with their committed outputs"
	@echo "make data       regenerate data/ deterministically"
	@echo "make benchmark  every detector on every bundled dataset -> reports/"
	@echo "make lint       ruff"
	@echo "make test-browser  notebooks 00 and 01 via Run All in a real JupyterLab (headless chromium)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; why = "TensorFlow 2.21 has no wheels for Python 3.14 or newer" if v > (3, 13) else "it uses Python 3.11 features"; sys.exit(0 if (3, 11) <= v <= (3, 13) else "Python %d.%d cannot run this course: %s. Install Python 3.11, 3.12 or 3.13 and run: make PYTHON=python3.13 ..." % (*v, why))'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# 127.0.0.1 keeps the server off the network; Jupyter's token stays on (it prints the URL).
# default_url opens the first notebook instead of a bare launcher (tests/browser checks it).
lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks \
		--LabApp.default_url=/lab/tree/00_introduction.ipynb

# Two pytest workers, one per core, one thread each. --dist loadfile keeps each test file, and
# each notebook's cells, in one worker (a notebook's cells share one kernel).
test: $(STAMP)
	ANOMALY_TUTORIAL_QUICK=1 ANOMALY_TUTORIAL_THREADS=1 $(BIN)/python -m pytest -n 2 \
		--dist loadfile $(NBVAL) tests notebooks

# The detectors use keras.ops only, so they run on every Keras backend; this checks JAX and
# PyTorch (CPU builds). torch is pinned: an unpinned install would pull a multi-GB CUDA build.
# Then data-parallel training (keras.distribution.DataParallel) on 2 virtual JAX CPU devices.
BACKEND_TESTS := tests/test_detector_contract.py tests/test_persistence.py tests/test_streaming.py
test-backends: $(STAMP)
	$(BIN)/python -m pip install --quiet 'jax[cpu]' 'torch==2.13.0'
	KERAS_BACKEND=jax ANOMALY_TUTORIAL_QUICK=1 $(BIN)/python -m pytest $(BACKEND_TESTS)
	KERAS_BACKEND=torch ANOMALY_TUTORIAL_QUICK=1 $(BIN)/python -m pytest $(BACKEND_TESTS)
	XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax ANOMALY_TUTORIAL_QUICK=1 \
		$(BIN)/python -m pytest -m multi_device tests/test_data_parallel.py

# Full mode compares every text output with the committed one (timings are sanitized).
test-full: $(STAMP)
	ANOMALY_TUTORIAL_QUICK=0 $(BIN)/python -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

data: $(STAMP)
	$(BIN)/anomaly-tutorial make-data --force

benchmark: $(STAMP)
	$(BIN)/anomaly-tutorial benchmark --out reports

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A learner's view: JupyterLab in headless Chromium, Run All Cells from the menu, screenshots to
# reports/. Debian's chromium and chromedriver are installed when missing; nothing else is fetched.
.PHONY: test-browser
test-browser: $(STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; \
	fi
	$(BIN)/python -m pytest -m browser tests/browser

clean-venv:
	rm -rf $(VENV)
