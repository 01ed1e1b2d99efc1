# anomaly-tutorial: `make lab` sets everything up and opens the course; `make test` checks it.
# The first target that needs it creates .venv with `python3 -m venv` (no conda needed) and
# installs the package with its dev tools; it reinstalls only when pyproject.toml changes.
# setup, lab, fresh, test and test-backends are tasks.py's (`python tasks.py TASK` without make,
# on Windows too): one definition of each, which CI's `make test` runs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab fresh test test-backends data models notebooks benchmark lint clean-venv

help:
	@echo "make lab        set up (first time), copy the notebooks to workspace/, open JupyterLab"
	@echo "make fresh      fresh copies of the notebooks in workspace/ (yours are moved aside)"
	@echo "make test       unit tests + every notebook as a learner runs it (what CI runs)"
	@echo "make test-backends  detector and save/load tests on Keras's JAX and PyTorch backends"
	@echo "make test-oldest    detector and save/load tests on the oldest versions allowed (.ci/oldest.txt)"
	@echo "make data       regenerate data/textures and data/glyphs deterministically"
	@echo "make models     retrain the networks the notebooks load (data/trained; NB='03 04')"
	@echo "make notebooks  re-run notebooks in place to refresh their committed outputs (NB=...)"
	@echo "make benchmark  every detector on every bundled dataset -> benchmarks/results/"
	@echo "make lint       ruff"
	@echo "make test-browser  notebooks 00 and 01 via Run All in a real JupyterLab (headless chromium)"
	@echo "make test-wheel    every notebook from the installed wheel, outside the checkout"
	@echo "Without make (Windows too): python tasks.py setup|lab|fresh|test|test-backends"

$(STAMP): pyproject.toml
	$(PYTHON) tasks.py setup --venv $(VENV)

setup:
	$(PYTHON) tasks.py setup --venv $(VENV)

# The learner works in copies (workspace/, git-ignored): JupyterLab's autosave never touches
# the committed notebooks. On 127.0.0.1, with Jupyter's token; opens 00_introduction.ipynb.
lab:
	$(PYTHON) tasks.py lab --venv $(VENV)

fresh:
	$(PYTHON) tasks.py fresh --venv $(VENV)

# Two pytest workers, one per core. --dist loadfile keeps each test file, and each notebook's
# cells, in one worker (a notebook's cells share one kernel). Unit tests run in quick mode with
# one thread; the notebooks run as a learner runs them (tests/conftest.py) and every text
# output must equal the committed one (timings and dates blanked: tests/nbval_sanitize.cfg).
# tasks.py test runs (tasks.test_command; tests/test_tasks.py keeps this line equal to it):
#   ANOMALY_TUTORIAL_QUICK=1 ANOMALY_TUTORIAL_THREADS=1 .venv/bin/python -m pytest -n 2 --dist loadfile --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg tests notebooks
test:
	$(PYTHON) tasks.py test --venv $(VENV)

# The detectors use keras.ops only, so they run on every Keras backend; this checks JAX and
# PyTorch on CPU-only builds: jax[cpu], and torch from PyTorch's CPU index (PyPI's Linux torch
# pulls about 20 nvidia-* packages). pip's dry-run report is read first and nothing CUDA is ever
# installed; where no CPU-only torch can be had, PyTorch is skipped with the reason.
test-backends:
	$(PYTHON) tasks.py test-backends --venv $(VENV)

# The oldest versions pyproject.toml allows (.ci/oldest.txt: TensorFlow 2.16.2, the last with
# Intel Mac wheels, Keras 3.8, NumPy 1.26, ...) in their own venv: the detector contract,
# save/load, model-folder and store tests; then every shipped network in data/trained scores the
# same seeded images as in .venv, to 1e-5 (.ci/same_scores.py); last, pip resolves the
# dependencies for Linux, Intel and arm64 macOS and Windows (.ci/resolve_platforms.py, needs
# the package index). TensorFlow 2.16 has wheels up to Python 3.12: OLDEST_PYTHON is 3.11 or 3.12.
OLDEST_VENV := .venv-oldest
OLDEST_PYTHON ?= $(PYTHON)
OLDEST_TESTS := tests/test_detector_contract.py tests/test_persistence.py \
	tests/test_model_folders.py tests/test_trained.py
$(OLDEST_VENV)/.installed: pyproject.toml .ci/oldest.txt
	@$(OLDEST_PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 12) else "make test-oldest needs Python 3.11 or 3.12 (TensorFlow 2.16 has no wheels for %d.%d): make test-oldest OLDEST_PYTHON=python3.12" % v)'
	rm -rf $(OLDEST_VENV)
	$(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install --quiet -c .ci/oldest.txt -e . pytest pytest-xdist
	@touch $@

.PHONY: test-oldest
test-oldest: $(STAMP) $(OLDEST_VENV)/.installed
	ANOMALY_TUTORIAL_QUICK=1 ANOMALY_TUTORIAL_THREADS=1 $(OLDEST_VENV)/bin/python -m pytest -n 2 \
		--dist loadfile $(OLDEST_TESTS)
	ANOMALY_TUTORIAL_THREADS=1 $(BIN)/python .ci/same_scores.py save $(OLDEST_VENV)/scores.npz
	ANOMALY_TUTORIAL_THREADS=1 $(OLDEST_VENV)/bin/python .ci/same_scores.py compare \
		$(OLDEST_VENV)/scores.npz
	$(OLDEST_VENV)/bin/python .ci/resolve_platforms.py

data: $(STAMP)
	$(BIN)/anomaly-tutorial make-data --force

# The networks the notebooks load instead of training them (anomaly_tutorial/trained.py): each
# notebook runs with ANOMALY_TUTORIAL_RETRAIN=1, which trains every network into
# data/trained/NN.new (the shipped files where the weights came back bit for bit the same);
# that folder then replaces data/trained/NN, and the run's outputs are thrown away. `git status`
# shows what changed; `make notebooks` refreshes the committed outputs from new networks.
NB ?= 00 01 02 03 04 05
TRAINED_NB ?= 02 03 04 05
models: $(STAMP)
	@for nb in $(filter $(TRAINED_NB),$(NB)); do \
		echo "Training the networks of notebook $$nb ..."; \
		rm -rf data/trained/$$nb.new; \
		out=$$(mktemp -d); \
		ANOMALY_TUTORIAL_RETRAIN=1 $(BIN)/jupyter nbconvert --to notebook --execute \
			--ExecutePreprocessor.timeout=3600 --output-dir $$out notebooks/$${nb}_*.ipynb \
			|| exit 1; \
		rm -rf $$out; \
		cat data/trained/$$nb.new/rebuild.log && rm data/trained/$$nb.new/rebuild.log; \
		rm -rf data/trained/$$nb && mv data/trained/$$nb.new data/trained/$$nb; \
	done

# Committed outputs are the run a learner gets: Run All of the notebook, as it is, in place.
notebooks: $(STAMP)
	@for nb in $(NB); do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False notebooks/$${nb}_*.ipynb || exit 1; \
	done

# The committed results that notebook 05 and the README show (10-20 min on 2 cores). --force
# replaces only the files an earlier run wrote there (anomaly_tutorial/outputs.py).
benchmark: $(STAMP)
	$(BIN)/anomaly-tutorial benchmark --out benchmarks/results --force

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

# A plain `pip install` of the wheel, outside the checkout: `anomaly-tutorial lab` copies the
# notebooks, and each must run and show its committed outputs (tests/wheel_install.py, minutes).
# The fresh venv reuses .venv's packages through a .pth file, so installing takes seconds.
.PHONY: test-wheel
test-wheel: $(STAMP)
	$(BIN)/python -m pytest tests/wheel_install.py

clean-venv:
	rm -rf $(VENV)
