# Two commands do all set-up on a fresh machine (Python 3.11, Redis on 127.0.0.1:6379):
#   make run    install everything, then start the bot (Telegram if TELEGRAM__TOKEN is set, else terminal chat)
#   make test   install everything, then run the test suite against the real Redis
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test install install-llama-cpp lint bench clean

$(STAMP): pyproject.toml scripts/install.sh scripts/install-llama-cpp.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

# (Re)build llama-cpp-python for this CPU; `make install` already does it once.
install-llama-cpp: $(STAMP)
	bash scripts/install-llama-cpp.sh $(BIN)/python

run: $(STAMP)
	$(BIN)/supportbot start

test: $(STAMP)
	bash scripts/install-system-deps.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/retrieval_quality.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
