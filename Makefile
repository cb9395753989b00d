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
SNAPSHOT := lite/build/grading/pyodide.snapshot

.PHONY: serve test install lint lite frontend browser openapi clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The front end's npm packages; they include the kernel, whose Python wheels lite/ serves.
FRONTEND_MODULES := extension/frontend/node_modules/.package-lock.json
$(FRONTEND_MODULES): extension/frontend/package.json extension/frontend/package-lock.json
	cd extension/frontend && npm ci --no-audit --no-fund --loglevel=error

# The in-browser kernel's assets: Pyodide from npm, its wheels from PyPI and the kernel's
# npm package, all compiled to bytecode by Pyodide under Node (lite/build.py).
$(LITE): $(STAMP) $(FRONTEND_MODULES) lite/package.json lite/package-lock.json lite/build.py \
		lite/pycompile.mjs extension/jupyter_interview/sandbox/magics.py extension/jupyter_interview/sandbox/pistonapi.py
	cd lite && npm ci --no-audit --no-fund --loglevel=error
	$(PY) lite/build.py
	touch $(LITE)

lite: $(LITE) $(SNAPSHOT)

# A started Pyodide, saved once: each grading run starts from it (sandbox/grading.py).
$(SNAPSHOT): $(LITE) extension/jupyter_interview/sandbox/grader/snapshot.mjs
	node extension/jupyter_interview/sandbox/grader/snapshot.mjs lite/build/pyodide $(SNAPSHOT)

# Our JupyterLab plugins (extension/frontend), built against the installed JupyterLab's own
# core package list, then linked into the environment like `jupyter labextension develop`.
FRONTEND := extension/jupyter_interview/labextension/package.json
LAB_CORE = $$($(abspath $(PY)) -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')
$(FRONTEND): $(STAMP) $(FRONTEND_MODULES) extension/frontend/tsconfig.json \
		extension/frontend/tsconfig.worker.json extension/frontend/webpack.config.js \
		$(wildcard extension/frontend/src/*.ts extension/frontend/src/worker/*.ts) extension/frontend/style/index.css
	cd extension/frontend && npm run --silent build:lib && npm run --silent build:worker
	cd extension/frontend && node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$(LAB_CORE)" .
	mkdir -p $(VENV)/share/jupyter/labextensions
	rm -rf $(VENV)/share/jupyter/labextensions/jupyter-interview
	ln -s $(abspath extension/jupyter_interview/labextension) $(VENV)/share/jupyter/labextensions/jupyter-interview

frontend: $(FRONTEND)

install: $(STAMP) $(LITE) $(SNAPSHOT) $(FRONTEND)

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

serve: install
	$(VENV)/bin/jupyter interview --InterviewApp.data_dir=$(DATA) --port=$(PORT) $(ROOT_FLAG) $(ARGS)

lint: install
	$(VENV)/bin/ruff check extension tests server_config lite bench
	$(VENV)/bin/ruff format --check extension tests server_config lite bench

test: lint browser
	$(PY) -m pytest

openapi: install
	$(PY) -m jupyter_interview.routes > openapi.json

clean:
	rm -rf $(VENV) build dist lite/build lite/node_modules extension/frontend/node_modules \
		extension/frontend/lib extension/jupyter_interview/labextension
