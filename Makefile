# Two commands do all the set-up on a fresh machine:
#   make demo   -> create .venv, install, replay the bundled recording with the bundled model
#   make test   -> create .venv, install the dev extras, run the test suite
# torch is pinned to the CPU wheel (an unpinned torch pulls a ~5 GB CUDA build).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_PIN := torch==2.13.0
DEMO_ARGS ?=

.PHONY: demo test venv install-gui install-dev lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_PIN)

$(VENV)/.installed-gui: $(PY) pyproject.toml
	$(PIP) install -q $(TORCH_PIN) -e ".[gui]"
	touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml
	$(PIP) install -q $(TORCH_PIN) -e ".[dev]"
	touch $@ $(VENV)/.installed-gui

venv: $(PY)
install-gui: $(VENV)/.installed-gui
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed-gui
	$(VENV)/bin/asa-live --replay recordings/demo.aedat4 $(DEMO_ARGS)

test: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check asa_live tests benchmarks
	$(VENV)/bin/ruff format --check asa_live tests benchmarks

# the SpikingJelly peer: --no-deps, or pip swaps torch for a 5 GB CUDA build
bench: $(VENV)/.installed-dev
	$(PIP) install -q --no-deps spikingjelly==2.0.0
	$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
