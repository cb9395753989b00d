# The two commands: `make serve` and `make test`. Everything else they need is installed here.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data
PORT ?= 8888
ARGS ?=
# Jupyter refuses to run as root without this; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

LITE := lite/build/.built

.PHONY: serve test install lint lite browser openapi clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The in-browser kernel's assets: Pyodide from npm, its wheels from PyPI (lite/build.py).
$(LITE): $(STAMP) lite/package.json lite/package-lock.json lite/build.py
	cd lite && npm ci --no-audit --no-fund --loglevel=error
	$(PY) lite/build.py
	touch $(LITE)

lite: $(LITE)

install: $(STAMP) $(LITE)

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

serve: install
	$(VENV)/bin/jupyter interview --InterviewApp.data_dir=$(DATA) --port=$(PORT) $(ROOT_FLAG) $(ARGS)

lint: install
	$(VENV)/bin/ruff check extension tests server_config
	$(VENV)/bin/ruff format --check extension tests server_config

test: lint browser
	$(PY) -m pytest

openapi: install
	$(PY) -m jupyter_interview.openapi > openapi.json

clean:
	rm -rf $(VENV) build dist lite/build lite/node_modules
