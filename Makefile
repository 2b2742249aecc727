# Two entry points for a new user (see README): `make run` (the main job end to end) and `make test`.
# Each creates .venv with Python 3.11 and installs the project, pinned by constraints.txt, on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MIRROR ?= $(SEQCONV_MIRROR)
JENA_FILES ?=
DATA_DIR ?= data
ARTIFACTS_DIR ?= artifacts
PROFILE ?= quick
MODELS ?=  # empty: the registrations' default models (tasks.core.architectures, default=True)
PYTEST_ARGS ?=

.PHONY: run test docs test-unit test-data test-model test-e2e bench bench-ingest bench-ingest-scale bench-gpu service-start service-stop clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# PYTHONWARNINGS: setuptools' notes about editable installs are for its own developers, not for our users
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,docs,docker]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m flows.train_all --profile $(PROFILE) --data-dir $(DATA_DIR) --artifacts-dir $(ARTIFACTS_DIR) \
		$(if $(MIRROR),--mirror $(MIRROR)) $(if $(JENA_FILES),--jena-files $(JENA_FILES)) \
		$(if $(MODELS),--models $(MODELS))

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit test-data test-model test-e2e: $(BIN)/.installed
	$(BIN)/python -m pytest tests/$(subst test-,,$@) $(PYTEST_ARGS)

docs: $(BIN)/.installed  # the guide (docs/, mkdocs.yml) into site/; --strict: a broken link or a moved module fails
	# NO_MKDOCS_2_WARNING: mkdocs-material's banner about its successor is for site maintainers, not for a build log
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(BIN)/.installed
	$(BIN)/python -m bench.windows
	$(BIN)/python -m bench.input_pipeline
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.orchestration

bench-ingest: $(BIN)/.installed
	$(BIN)/python -m bench.ingest

bench-ingest-scale: $(BIN)/.installed  # a user's data at scale beside the built-in readers; several minutes
	$(BIN)/python -m bench.ingest_scale

bench-gpu: $(BIN)/.installed  # on a GPU machine; under 10 minutes
	$(BIN)/python -m bench.gpu

service-start: $(BIN)/.installed  # DB=postgres: on a private PostgreSQL cluster (see docs/service.md); default SQLite
	DB="$(DB)" SEQCONV_MIRROR="$(MIRROR)" SEQCONV_JENA_FILES="$(JENA_FILES)" scripts/service.sh start

service-stop:
	scripts/service.sh stop

clean:
	rm -rf $(VENV) .pytest_cache
