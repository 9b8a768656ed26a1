# Two commands set everything up: `make run` (demo dashboard) and `make test`. Both first install the Debian
# packages listed in etl/system_packages.py when this user can (root or passwordless sudo), else say how.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DATA ?= data/demo/red_team_attempts.demo.json.gz
DEMO_DB ?= data/demo/risk.duckdb
HOST ?= 127.0.0.1
PORT ?= 8501
export HF_HUB_OFFLINE := 1

.PHONY: run test bench quality install install-test install-bench system-packages clean package-vectors

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/pip install -e '.[test,bench]'
	touch $@

# SYSTEM_PACKAGES_FLAGS=--strict (as .ci/run sets) fails when a package is still missing afterwards.
system-packages:
	$(PY) -m etl.system_packages --install $(SYSTEM_PACKAGES_FLAGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-bench: $(VENV)/.installed-bench

$(DEMO_DATA): | $(VENV)/.installed
	$(BIN)/redteam-risk demo --rows 38961 --seed 0 --out $(DEMO_DATA)

# A schema change (a new table) makes the demo database out of date: rebuild it (the embedding cache keeps it quick).
$(DEMO_DB): $(DEMO_DATA) $(wildcard sql/schema/*.sql)
	$(BIN)/redteam-risk etl $(DEMO_DATA) --db $(DEMO_DB)

run: system-packages $(VENV)/.installed $(DEMO_DB)
	$(BIN)/redteam-risk dashboard --db $(DEMO_DB) --host $(HOST) --port $(PORT)

test: system-packages $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 tests

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

# Theme and cluster quality on the real labelled sets in ../shared/data (bench/results/quality.md).
quality: $(VENV)/.installed-test
	$(BIN)/python -m bench.quality

clean:
	rm -rf $(VENV) data/demo

# After editing etl/taxonomy/default.toml or the corpus: the vectors that ship for their texts (tests check them).
package-vectors: $(VENV)/.installed
	$(BIN)/python -c "from etl import themes; print(themes.write_packaged_vectors())"
