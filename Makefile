# mnist-linear. Three audiences, three kinds of target (`make help` lists them):
#   learners     make lab, make run, make setup      the lessons' environment .venv (requirements-learner-lock.txt)
#   instructors  make site, answers, course, instructor-lab     .venv-dev (requirements-lock.txt, which contains
#   maintainers  make test, export, outputs, lock, ...           the learner lock and adds nbgrader, nbdev, pytest)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
DEV_VENV ?= .venv-dev
BIN := $(VENV)/bin
DEV := $(DEV_VENV)/bin
# pip on some machines warns about every missing local index folder; those lines are noise
PIPQUIET := grep -v 'is neither a file nor a directory' || true

.PHONY: help run lab exercises instructor-lab course lessons test setup dev-setup data dev-data outputs export handouts site answers times lock stages
.DEFAULT_GOAL := help

help:
	@echo 'Learners (environment .venv, the lessons and what they import):'
	@echo '  make lab             set up .venv on first use, install the data, open the lessons in JupyterLab'
	@echo '  make exercises       the same JupyterLab in exercises/, where you write the code yourself'
	@echo '  make run             train the course'"'"'s model from a terminal (ARGS="--model net" passes options)'
	@echo '  make setup           only set up .venv; make data: only install and check the data'
	@echo 'Instructors (environment .venv-dev: the above plus nbgrader and the site tools):'
	@echo '  make site            the handouts as a website in DIR (default _handouts/)'
	@echo '  make answers         the answer key beside it, in KEYDIR (default _answers/)'
	@echo '  make course COURSE=DIR   an nbgrader course folder; make instructor-lab opens it'
	@echo '  make classroom INSTRUCTOR=ada STUDENTS="bo cy"   (root) this Linux machine as the class'"'"'s JupyterHub'
	@echo '  make lessons         run every lesson headless and print its key result'
	@echo 'Maintainers (environment .venv-dev):'
	@echo '  make test            the whole pipeline that CI runs (tools/pipeline.sh)'
	@echo '  make export          nbdev-clean, nbdev-export, student copies, exercise editions'
	@echo '  make outputs         re-execute every notebook in place, then export'
	@echo '  make lock            refresh the locks (needs the package index)'
	@echo '  make times / stages  measure the lessons / the pipeline against `import torch`'

# Each environment: exact versions, with hashes, from its lock (tools/lock.py explains them; `make lock` refreshes
# them), with --no-deps: the lock is the whole environment (tools/lock-overrides.txt leaves out one package that a
# dependency asks for, which pip would otherwise fetch); then the package itself without its dependencies.
# fastai 2.8 decorates functions with torch.jit.script, which torch 2.14 deprecates with a FutureWarning at every
# `import fastai...`: tools/mnist_linear_warnings.pth, the one place that filters it, is a .pth file in site-packages,
# which Python runs at start-up, so no lesson, tool, test or benchmark repeats the filter.
define install_env
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3,11) else "error: Python 3.11 or newer is needed")'
	[ -x $(1)/bin/python ] || $(PYTHON) -m venv $(1)
	$(1)/bin/pip install -q --no-deps --require-hashes -r $(2) 2>&1 | $(PIPQUIET)
	$(1)/bin/pip install -q --no-deps --no-build-isolation -e . 2>&1 | $(PIPQUIET)
	cp tools/mnist_linear_warnings.pth "$$($(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
endef

$(BIN)/.installed: pyproject.toml settings.ini setup.py requirements-learner-lock.txt tools/mnist_linear_warnings.pth
	$(call install_env,$(VENV),requirements-learner-lock.txt)
	$(BIN)/python -c 'import mnist_linear, fastai, torch; print(f"installed mnist_linear {mnist_linear.__version__} for learners: fastai {fastai.__version__}, torch {torch.__version__}")'
	touch $@

$(DEV)/.installed: pyproject.toml settings.ini setup.py requirements-lock.txt tools/nbdev2-lock.txt tools/mnist_linear_warnings.pth
	$(call install_env,$(DEV_VENV),requirements-lock.txt)
	$(DEV)/python -c 'import mnist_linear, fastai, torch, nbdev, nbgrader; print(f"installed mnist_linear {mnist_linear.__version__} for instructors and maintainers: fastai {fastai.__version__}, torch {torch.__version__}, nbgrader {nbgrader.__version__}")'
	bash tools/nbdev2_check.sh --build
	touch $@

setup: $(BIN)/.installed
dev-setup: $(DEV)/.installed

data: setup
	$(BIN)/mnist-linear data --check
dev-data: dev-setup
	$(DEV)/mnist-linear data --check

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
# This environment holds no nbgrader, so this JupyterLab shows no grading tools.
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
# The same JupyterLab in exercises/, where a learner writes the lessons' functions.
exercises: lab-prepare
	@echo "starting JupyterLab in exercises/ (stop it with Ctrl-C)"
	$(BIN)/jupyter lab --notebook-dir=exercises $(LABOPTS)

# Instructors: JupyterLab of .venv-dev, with nbgrader's tools (its menu, Create Assignment, Formgrader, Validate), in
# COURSE if given (`make course` makes one), else in exercises/.
instructor-lab: dev-data
	@echo "starting JupyterLab with nbgrader's tools in $(or $(COURSE),exercises) (stop it with Ctrl-C)"
	cd $(or $(COURSE),exercises) && $(abspath $(DEV))/jupyter lab --notebook-dir=. $(LABOPTS)

# Instructors: an nbgrader course folder in COURSE (a new or empty folder): the exercises' sources as one assignment
# per lesson, nbgrader_config.py and a gradebook (tools/course.py). INSTRUCTORS.md says how to grade there.
COURSE ?=
course: dev-setup
	$(DEV)/python tools/course.py "$(COURSE)"

# Maintainers: refresh the locks (requirements-learner-lock.txt, requirements-lock.txt, tools/nbdev2-lock.txt) from settings.ini's ranges and the
# nbdev 2 SPEC, with uv's universal resolution (one lock for Linux, macOS and Windows, Intel and ARM). uv lives in
# .venv-lock/, outside the locked environment. Needs the package index.
lock: dev-setup
	[ -x .venv-lock/bin/uv ] || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install -q uv 2>&1 | $(PIPQUIET); }
	PATH="$(CURDIR)/.venv-lock/bin:$$PATH" $(DEV)/python tools/lock.py

# Maintainers: measure how long each lesson runs here, into nbs/lesson_times.json (README and handouts quote it).
times: dev-data
	$(DEV)/python tools/lesson_times.py

# Execute every lesson headless and print each lesson's key result.
lessons: dev-data
	$(DEV)/python tools/run_lessons.py

# The nbdev 2 side environment (.venv-nbdev2/) is built with .venv-dev, not inside the pipeline's stage 2.
# The learner's environment is set up too: tests/test_envs.py checks what it holds and that the lessons' imports work there;
# and the classroom's (.venv-classroom, below): tests/test_classroom.py runs a class on JupyterHub with real accounts.
# The browser tests (tests/test_drawing.py) drive Debian's Chromium with playwright-core from npm (package-lock.json);
# without /usr/bin/chromium they fail and say so (.ci/run installs it with apt-get).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test: setup dev-data classroom-env node_modules/.package-lock.json
	VENV=$(DEV_VENV) bash tools/pipeline.sh

# Maintainers: re-execute every notebook in place (fresh kernel each), then clean and export.
outputs: dev-data
	$(DEV)/python tools/nbrun.py --inplace nbs/*.ipynb
	$(DEV)/nbdev-clean
	$(DEV)/nbdev-export
	$(DEV)/python tools/site/build.py --html _handouts
	$(DEV)/python tools/exercises.py

export: dev-setup
	$(DEV)/nbdev-clean
	$(DEV)/nbdev-export
	$(DEV)/python tools/site/build.py --html _handouts
	$(DEV)/python tools/exercises.py

# Instructors: student notebooks into clean/ and the handouts as a website into DIR (default _handouts/): one page per
# lesson with the course's navigation, search, dark mode and print styles, served as it is by any static host.
# `make site` is the same; `make answers` writes the answer key beside it, linked to the site's sections.
DIR ?= _handouts
handouts: dev-setup
	$(DEV)/python tools/site/build.py --html $(DIR)
site: handouts

# Instructors: the questionnaires' answer key as HTML into KEYDIR (default _answers/, ignored by git).
KEYDIR ?= _answers
answers: dev-setup
	$(DEV)/python tools/site/build.py --answers $(KEYDIR) --html $(DIR)

# CONTRIBUTING.md's table of stage times: run the whole pipeline, then print a Markdown table of each
# stage's time and its ratio to `python -c 'import torch'` measured in the same run.
.PHONY: stages
stages: setup dev-data
	VENV=$(DEV_VENV) $(DEV)/python tools/stage_table.py

# Instructors: this Linux machine as the class's server, as root (INSTRUCTORS.md, "A class on one JupyterHub";
# tools/classroom/classroom.py says what goes where). The classroom environment .venv-classroom is the learner lock plus
# JupyterHub, its idle culler, nbgitpuller and nbgrader (requirements-classroom-lock.txt); every user's server and
# kernel runs from it, so it is made with a Python that every account can run (Debian's /usr/bin/python3, not one
# under /root), in a clone that every account can read. configurable-http-proxy comes from npm (package-lock.json).
# `make classroom` sets up (accounts, data, lessons, course, exchange) and starts the hub in the foreground;
# run it again to add students or to publish new lessons. CLASSROOM_ARGS passes options (--port, --ip, --cull-after).
CLASSROOM_VENV ?= .venv-classroom
CLASSROOM_PYTHON ?= /usr/bin/python3
CLASSROOM_DIR ?= /srv/mnist-linear-classroom
INSTRUCTOR ?=
STUDENTS ?=
CLASSROOM_ARGS ?=
.PHONY: classroom classroom-setup classroom-env
$(CLASSROOM_VENV)/bin/.installed: PYTHON := $(CLASSROOM_PYTHON)
$(CLASSROOM_VENV)/bin/.installed: pyproject.toml settings.ini setup.py requirements-classroom-lock.txt tools/mnist_linear_warnings.pth
	$(call install_env,$(CLASSROOM_VENV),requirements-classroom-lock.txt)
	$(CLASSROOM_VENV)/bin/python -c 'import mnist_linear, jupyterhub, nbgrader, nbgitpuller; print(f"installed the classroom environment: jupyterhub {jupyterhub.__version__}, nbgrader {nbgrader.__version__}")'
	touch $@
classroom-env: $(CLASSROOM_VENV)/bin/.installed
	[ -z "$$(command -v npm)" ] || $(MAKE) --no-print-directory node_modules/.package-lock.json
classroom-setup: classroom-env
	$(CLASSROOM_VENV)/bin/python tools/classroom/classroom.py setup --instructor "$(INSTRUCTOR)" --students "$(STUDENTS)" --dir "$(CLASSROOM_DIR)" $(CLASSROOM_ARGS)
classroom: classroom-setup
	$(CLASSROOM_VENV)/bin/python tools/classroom/classroom.py start --dir "$(CLASSROOM_DIR)"
