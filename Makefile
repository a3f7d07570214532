# lim-hw: `make run` and `make test` install whatever is missing, then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lim-hw-installed

.PHONY: run test bench install ngspice chromium netlists regress docs-img clean

install: ngspice chromium $(STAMP)

# ngspice (binary) and libngspice (shared library for the `shared` engine) from Debian.
ngspice:
	@if command -v ngspice >/dev/null 2>&1 && { [ -e /usr/lib/x86_64-linux-gnu/libngspice.so ] || ldconfig -p 2>/dev/null | grep -q 'libngspice.so '; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing ngspice and libngspice0-dev with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngspice libngspice0-dev >/dev/null; \
	else \
	  echo "make: ngspice is missing: run 'sudo apt-get install ngspice libngspice0-dev' (Debian/Ubuntu), then run make again" >&2; exit 1; \
	fi

# chromium (headless) from Debian: the tests open report.html in a real browser.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$LIM_HW_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing chromium with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "make: chromium is missing: run 'sudo apt-get install chromium' (Debian/Ubuntu) or set LIM_HW_CHROMIUM, then run make again" >&2; exit 1; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

run: install
	$(BIN)/lim-hw run

test: install
	$(BIN)/python -m pytest -q -n auto

bench: install
	$(BIN)/python bench/run_all.py

netlists: install
	$(BIN)/python -m lim_hw.netlist.reference

regress: install
	$(BIN)/lim-hw regress tests/regression/suite.toml

# The picture of the report in README.md (headless chromium).
docs-img: install
	$(BIN)/lim-hw run -o build/docs-run --quiet
	$(BIN)/python -m lim_hw.report.browser screenshot build/docs-run/report.html docs/img/report.png 1000 1500

clean:
	rm -rf $(VENV) lim-hw-out .pytest_cache
