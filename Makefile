# mnist-linear: the two commands of the README, and a few helpers for maintainers.
#   make run    set up .venv on first use, then train the course's model: mnist-linear train
#   make test   set up .venv on first use, then run the whole pipeline (tools/pipeline.sh)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
# pip on some machines warns about every missing local index folder; those lines are noise
PIPQUIET := grep -v 'is neither a file nor a directory' || true

.PHONY: run lab instructor-lab course lessons test setup data outputs export handouts site answers times lock
.DEFAULT_GOAL := run

# Exact versions, with hashes, from requirements-lock.txt (tools/lock.py explains it; `make lock` refreshes it), with
# --no-deps: the lock is the whole environment, and one override in it (tools/lock-overrides.txt) is one pip would refuse;
# then the package itself without its dependencies: settings.ini's ranges are for installs with pip.
# The lock holds nbgrader (the pipeline grades with it), whose JupyterLab extension and server extensions would give
# every learner an Nbgrader menu, a Create Assignment panel and a Validate button: tools/jupyter/learner/ turns them
# off for this environment's Jupyter (copied into $(VENV)/etc/jupyter; `make instructor-lab` turns them back on).
LEARNER_JUPYTER := $(shell find tools/jupyter/learner -type f)
$(BIN)/.installed: pyproject.toml settings.ini setup.py requirements-lock.txt $(LEARNER_JUPYTER)
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3,11) else "error: Python 3.11 or newer is needed")'
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements-lock.txt 2>&1 | $(PIPQUIET)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . 2>&1 | $(PIPQUIET)
	mkdir -p $(VENV)/etc/jupyter && cp -R tools/jupyter/learner/. $(VENV)/etc/jupyter/
	$(BIN)/python -c 'import mnist_linear, fastai, torch, nbdev, nbclient; print(f"installed mnist_linear {mnist_linear.__version__}: fastai {fastai.__version__}, torch {torch.__version__}")'
	touch $@

setup: $(BIN)/.installed

data: setup
	$(BIN)/mnist-linear data --check

run: data
	$(BIN)/mnist-linear train $(ARGS)

# Learners: open the lessons in JupyterLab with this environment. In this JupyterLab the notebooks'
# kernel "python3" is .venv's Python; the environment is also registered as the kernel "mnist-linear"
# for other front ends (VS Code, a JupyterLab installed elsewhere). LABARGS passes options on,
# for example LABARGS="--no-browser --port 8890".
# A classroom may be offline: a settings override inside .venv sets the notification plugin's fetchNews
# to "false", so JupyterLab never asks whether to fetch Jupyter's news, and news_url=None stops the
# server from fetching any news feed. As root (many containers), Jupyter refuses to start without
# --allow-root, so it is added then, and only then.
# nbgrader's instructor tools are off in this JupyterLab (see $(BIN)/.installed above).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/mnist-linear.json
LABOPTS := --LabApp.news_url=None $(if $(filter 0,$(shell id -u)),--allow-root) $(LABARGS)
.PHONY: lab-prepare
lab-prepare: data
	$(BIN)/python -m ipykernel install --user --name mnist-linear --display-name "mnist-linear (.venv)" > /dev/null
	mkdir -p $(dir $(LAB_OVERRIDES))
	echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}' > $(LAB_OVERRIDES)
lab: lab-prepare
	@echo "kernel 'mnist-linear' registered; starting JupyterLab in nbs/ (stop it with Ctrl-C)"
	$(BIN)/jupyter lab --notebook-dir=nbs $(LABOPTS)

# Instructors: JupyterLab with nbgrader's tools (its menu, Create Assignment, Formgrader, Validate), in COURSE if given
# (`make course` makes one), else in exercises/. tools/jupyter/instructor/ turns them on, ahead of the learners'
# settings in $(VENV)/etc/jupyter.
instructor-lab: lab-prepare
	@echo "starting JupyterLab with nbgrader's tools in $(or $(COURSE),exercises) (stop it with Ctrl-C)"
	cd $(or $(COURSE),exercises) && JUPYTER_CONFIG_PATH="$(CURDIR)/tools/jupyter/instructor$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(abspath $(BIN))/jupyter lab --notebook-dir=. $(LABOPTS)

# Instructors: an nbgrader course folder in COURSE (a new or empty folder): the exercises' sources as one assignment
# per lesson, nbgrader_config.py and a gradebook (tools/course.py). INSTRUCTORS.md says how to grade there.
COURSE ?=
course: setup
	$(BIN)/python tools/course.py "$(COURSE)"

# Maintainers: refresh the locks (requirements-lock.txt, tools/nbdev2-lock.txt) from settings.ini's ranges and the
# nbdev 2 SPEC, with uv's universal resolution (one lock for Linux, macOS and Windows, Intel and ARM). uv lives in
# .venv-lock/, outside the locked environment. Needs the package index.
lock: setup
	[ -x .venv-lock/bin/uv ] || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install -q uv 2>&1 | $(PIPQUIET); }
	PATH="$(CURDIR)/.venv-lock/bin:$$PATH" $(BIN)/python tools/lock.py

# Maintainers: measure how long each lesson runs here, into nbs/lesson_times.json (README and handouts quote it).
times: data
	$(BIN)/python tools/lesson_times.py

# Execute every lesson headless and print each lesson's key result.
lessons: data
	$(BIN)/python tools/run_lessons.py

# The nbdev 2 side environment (.venv-nbdev2/) is built here, as part of installing, not inside the pipeline's stage 2.
# The browser tests (tests/test_drawing.py) drive Debian's Chromium with playwright-core from npm (package-lock.json);
# without /usr/bin/chromium they fail and say so (.ci/run installs it with apt-get).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test: data node_modules/.package-lock.json
	bash tools/nbdev2_check.sh --build
	bash tools/pipeline.sh

# Maintainers: re-execute every notebook in place (fresh kernel each), then clean and export.
outputs: data
	for nb in nbs/*.ipynb; do $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.store_widget_state=False "$$nb"; done
	$(BIN)/nbdev-clean
	$(BIN)/nbdev-export
	$(BIN)/mnist-linear-handouts --html _handouts
	$(BIN)/python tools/exercises.py

export: setup
	$(BIN)/nbdev-clean
	$(BIN)/nbdev-export
	$(BIN)/mnist-linear-handouts --html _handouts
	$(BIN)/python tools/exercises.py

# Instructors: student notebooks into clean/ and the handouts as a website into DIR (default _handouts/): one page per
# lesson with the course's navigation, search, dark mode and print styles, served as it is by any static host.
# `make site` is the same; `make answers` writes the answer key beside it, linked to the site's sections.
DIR ?= _handouts
handouts: setup
	$(BIN)/mnist-linear-handouts --html $(DIR)
site: handouts

# Instructors: the questionnaires' answer key as HTML into KEYDIR (default _answers/, ignored by git).
KEYDIR ?= _answers
answers: setup
	$(BIN)/mnist-linear-handouts --answers $(KEYDIR) --html $(DIR)

# CONTRIBUTING.md's table of stage times: run the whole pipeline, then print a Markdown table of each
# stage's time and its ratio to `python -c 'import torch'` measured in the same run.
.PHONY: stages
stages: data
	$(BIN)/python tools/stage_table.py
