# Fast LiteLLM: `make run` starts the demo proxy on :4000; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PORT ?= 4000
export LITELLM_LOCAL_MODEL_COST_MAP := True
CC ?= cc
CFLAGS_C := -std=c11 -Wall -Wextra -Werror -O1 -g -Icsrc/core
CSRC_CORE := $(wildcard csrc/core/*.c)
CTESTS := $(patsubst tests/c/%.c,build/ctest/%,$(wildcard tests/c/test_*.c))

.PHONY: all install run test pytest ctest valgrind asan-test apt-deps bench bench-micro clean

all: install

# The venv, the package (editable, C extension built) and the test tools.
$(VENV)/.installed: pyproject.toml setup.py $(wildcard csrc/*/*.c csrc/*/*.h)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/fast-litellm proxy --demo --port $(PORT)

# Debian packages the tests use, installed when missing (root, as on CI).
apt-deps:
	@need=""; for b in valgrind:valgrind; do cmd=$${b%%:*}; pkg=$${b##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || need="$$need $$pkg"; done; \
	if [ -n "$$need" ]; then echo "apt-get install$$need"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need) >/dev/null; fi

test: install apt-deps ctest valgrind pytest asan-test

pytest: install
	$(VPY) -m pytest -q

build/ctest/%: tests/c/%.c $(CSRC_CORE) $(wildcard csrc/core/*.h)
	@mkdir -p build/ctest
	$(CC) $(CFLAGS_C) -o $@ $< $(CSRC_CORE) -lm

ctest: $(CTESTS)
	@for t in $(CTESTS); do echo "== $$t"; $$t || exit 1; done

valgrind: $(CTESTS)
	@for t in $(CTESTS); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

# The extension built with ASan/UBSan, and the Python suite (minus the slow
# process-level suites, which run the same code) on it.
asan-test: install
	rm -rf build/asan build/asan-tmp && mkdir -p build/asan
	cp -r src/fast_litellm build/asan/ && rm -f build/asan/fast_litellm/*.so
	FAST_LITELLM_SANITIZE=1 $(VPY) setup.py -q build_ext --build-lib build/asan --build-temp build/asan-tmp >/dev/null 2>&1
	PYTHONPATH=build/asan LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  FAST_LITELLM_EXPECT_SANITIZED=1 \
	  $(VPY) -m pytest -q -m "not e2e and not deploy" -p no:cacheprovider

# The end-to-end A/B proxy benchmark (about 11 minutes on 2 cores), then plots and the
# tables of BENCHMARKS.md. BENCH_ARGS=--quick for a smoke run.
bench: install
	$(VPY) -m pip install -q -e '.[bench]'
	$(VPY) bench/proxy_bench.py $(BENCH_ARGS)
	$(VPY) bench/report.py

bench-micro: install
	$(VPY) -m pip install -q -e '.[bench]'
	$(VPY) bench/micro/run.py $(BENCH_ARGS)

clean:
	rm -rf build dist *.egg-info src/fast_litellm/*.so
