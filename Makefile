# The two commands: `make serve` and `make test`. Everything else they need is installed here.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data
PORT ?= 8888
ARGS ?=
# Jupyter refuses to run as root without this; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: serve test install lint openapi clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/jupyter interview --InterviewApp.data_dir=$(DATA) --port=$(PORT) $(ROOT_FLAG) $(ARGS)

lint: install
	$(VENV)/bin/ruff check extension tests server_config
	$(VENV)/bin/ruff format --check extension tests server_config

test: lint
	$(PY) -m pytest

openapi: install
	$(PY) -m jupyter_interview.openapi > openapi.json

clean:
	rm -rf $(VENV) build dist
