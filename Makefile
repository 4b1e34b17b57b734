# Each target runs one nox session. nox is installed into .venv-nox/ on first use.
PYTHON ?= python3
NOX_VENV := .venv-nox
NOX := $(NOX_VENV)/bin/nox
ROOT_DIR ?=
PATCH_JSON ?=
PROFILE ?=
JSON_FILE ?=
LOG_FILE ?=
OUTPUT_DIR ?=

# arguments after `--` for sessions that take a tree
TREE_ARGS = $(ROOT_DIR) $(PATCH_JSON) $(if $(PROFILE),--profile $(PROFILE))

.PHONY: demo test plan merge undo coverage lint bench clean

demo: $(NOX)
	$(NOX) -s demo

test: $(NOX)
	$(NOX) -s tests

plan: $(NOX)
	$(NOX) -s plan -- $(TREE_ARGS)

merge: $(NOX)
	$(NOX) -s merge -- $(TREE_ARGS) $(if $(DRY_RUN),--dry-run)

undo: $(NOX)
	$(NOX) -s undo -- $(ROOT_DIR)

# LOG_FILE: files, folders or globs, space-separated (quote a glob to let patchmerge expand it)
coverage: $(NOX)
	$(NOX) -s coverage -- --json-file $(JSON_FILE) --log-file $(LOG_FILE) \
		$(if $(PROFILE),--profile $(PROFILE)) $(if $(OUTPUT_DIR),--output-dir $(OUTPUT_DIR))

lint: $(NOX)
	$(NOX) -s lint

bench: $(NOX)
	$(NOX) -s bench -- $(TREE_ARGS)

$(NOX):
	$(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/python -m pip install --quiet --upgrade pip nox

clean:
	rm -rf $(NOX_VENV) .nox
