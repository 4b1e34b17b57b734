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
MODEL_SHELL ?=
PATTERN ?=
TIMEOUT ?=
STATE_DIR ?=
JOBS ?=

# arguments after `--` for sessions that take a tree
TREE_ARGS = $(ROOT_DIR) $(PATCH_JSON) $(if $(PROFILE),--profile $(PROFILE))

# check and bisect flags; REGEX=1 reads PATTERN as a regular expression
CHECK_ARGS = $(if $(MODEL_SHELL),--model-shell $(MODEL_SHELL)) $(if $(PATTERN),--pattern "$(PATTERN)") \
	$(if $(REGEX),--regex) $(if $(TIMEOUT),--timeout $(TIMEOUT))
# bisect with no ROOT_DIR: the bundled example with its deliberately wrong patch JSON
BISECT_TREE = $(if $(ROOT_DIR),$(TREE_ARGS),$(or $(PATCH_JSON),examples/mini/patches-broken.json) \
	$(if $(PROFILE),--profile $(PROFILE)))

.PHONY: demo test plan merge undo collect coverage check bisect lint bench clean

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

# OUT: where the patch JSON goes (default ROOT_DIR/.patchmerge/collected.json)
collect: $(NOX)
	$(NOX) -s collect -- $(ROOT_DIR) $(if $(PROFILE),--profile $(PROFILE)) $(if $(OUT),-o $(OUT))

# LOG_FILE: files, folders or globs, space-separated (quote a glob to let patchmerge expand it)
coverage: $(NOX)
	$(NOX) -s coverage -- --json-file $(JSON_FILE) --log-file $(LOG_FILE) \
		$(if $(PROFILE),--profile $(PROFILE)) $(if $(OUTPUT_DIR),--output-dir $(OUTPUT_DIR))

check: $(NOX)
	$(NOX) -s check -- $(TREE_ARGS) $(CHECK_ARGS)

# RESUME=1 continues the bisect in STATE_DIR; MARK=good|bad|skip gives its waiting step a verdict
bisect: $(NOX)
	$(NOX) -s bisect -- $(BISECT_TREE) $(CHECK_ARGS) $(if $(STATE_DIR),--state-dir $(STATE_DIR)) \
		$(if $(RESUME),--resume) $(if $(JOBS),--jobs $(JOBS)) $(if $(MARK),--mark $(MARK))

lint: $(NOX)
	$(NOX) -s lint

bench: $(NOX)
	$(NOX) -s bench -- $(TREE_ARGS)

$(NOX):
	$(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/python -m pip install --quiet --upgrade pip nox

clean:
	rm -rf $(NOX_VENV) .nox
