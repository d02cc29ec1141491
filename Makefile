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

.PHONY: install run test lint perf peers clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, so nothing below pulls a multi-GB CUDA build on a machine without a GPU.
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "torch already installed: $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
		$(PIP) install "torch>=2.6"; \
	else \
		if $(PIP) download -q --no-index --no-deps -d $(VENV)/.torch-probe "torch==$(TORCH_VERSION)" >/dev/null 2>&1; then \
			$(PIP) install "torch==$(TORCH_VERSION)"; \
		else \
			$(PIP) install "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); \
		fi; \
		rm -rf $(VENV)/.torch-probe; \
	fi
	@# Everything: the benchmark, the studies, the baselines and the dev tools (a plain
	@# `pip install daam-bench` is the light core: daam.trace alone).
	$(PIP) install -e ".[all,dev]"
	@# open_clip ships the CLIP BPE merges file; --no-deps keeps torchvision (and CUDA torch) out.
	$(PIP) install --no-deps "open_clip_torch==3.3.0"
	touch $(STAMP)

run: install
	$(VENV)/bin/bench run $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff lint and format check (configured in pyproject.toml); CI runs it before the tests.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

perf: install
	$(VENV)/bin/bench perf $(ARGS)

# The peers `bench perf --peers` compares against, each kept apart from our environment:
# attention-map-diffusers (no deps: it runs on our diffusers) and castorini/daam 0.2.0 in its own
# venv (it pins diffusers 0.21, transformers 4.30).
peers: install
	$(PIP) install --no-deps --target .peers/amd "attention-map-diffusers==1.0.0"
	test -x .peers/castorini/bin/python || $(PYTHON) -m venv .peers/castorini
	.peers/castorini/bin/pip install "torch==$(TORCH_VERSION)" || .peers/castorini/bin/pip install "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX)
	.peers/castorini/bin/pip install "diffusers==0.21.2" "transformers==4.30.2" "accelerate==0.23.0" \
		"huggingface_hub==0.19.4" "numpy<2" scipy matplotlib pillow safetensors spacy
	.peers/castorini/bin/pip install --no-deps "daam==0.2.0"
	$(VENV)/bin/bench perf --peers --peer-path .peers/amd --castorini-python .peers/castorini/bin/python $(ARGS)

clean:
	rm -rf $(VENV) workspace
