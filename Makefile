# Two commands: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2

.PHONY: install translations db run test check clean clean-data

$(STAMP): requirements.txt setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

translations: install
	$(BIN)/surveyapp translate compile

db: translations
	$(BIN)/surveyapp db upgrade
	$(BIN)/surveyapp instruments load
	$(BIN)/surveyapp demo seed

run: db
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --no-control-socket --access-logfile - wsgi:app

test: translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	$(BIN)/surveyapp instruments check instruments/

# The virtualenv and test artifacts only: instance/ holds the database and the secret key.
clean:
	rm -rf $(VENV) tests/artifacts

# Deletes the database and the secret key (every session ends), after asking.
clean-data:
	@printf 'Delete instance/ (the database and the secret key)? [y/N] '; \
	read answer; case "$$answer" in [yY]*) rm -rf instance && echo 'instance/ deleted.';; \
	*) echo 'Kept instance/.';; esac
