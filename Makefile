# Two commands for a fresh machine: `make run` (the main job) and `make test` (the test suite).
# Both create the virtual environment when it is missing and install the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
# Where a CPU-only torch comes from when no local wheel of it is on pip's find-links path.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.installed

.PHONY: install run test perf clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, so nothing below pulls a multi-GB CUDA build on a machine without a GPU.
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "torch already installed: $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
		$(PIP) install "torch>=2.1"; \
	else \
		if $(PIP) download -q --no-index --no-deps -d $(VENV)/.torch-probe "torch==$(TORCH_VERSION)" >/dev/null 2>&1; then \
			$(PIP) install "torch==$(TORCH_VERSION)"; \
		else \
			$(PIP) install "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); \
		fi; \
		rm -rf $(VENV)/.torch-probe; \
	fi
	$(PIP) install -e ".[dev]"
	@# open_clip ships the CLIP BPE merges file; --no-deps keeps torchvision (and CUDA torch) out.
	$(PIP) install --no-deps "open_clip_torch==3.3.0"
	touch $(STAMP)

run: install
	$(VENV)/bin/bench run $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

perf: install
	$(VENV)/bin/bench perf $(ARGS)

clean:
	rm -rf $(VENV) workspace
