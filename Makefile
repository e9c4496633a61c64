# Fast LiteLLM: `make run` starts the demo proxy on :4000; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PORT ?= 4000
export LITELLM_LOCAL_MODEL_COST_MAP := True
CC ?= cc
CFLAGS_C := -std=c11 -Wall -Wextra -Werror -O1 -g -Icsrc/core
CSRC_CORE := $(wildcard csrc/core/*.c)
CTESTS := $(patsubst tests/c/%.c,build/ctest/%,$(wildcard tests/c/test_*.c))

.PHONY: all install run test pytest ctest valgrind fuzz asan-test memo-versions apt-deps bench bench-micro clean

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
	@need=""; for b in valgrind:valgrind clang:clang redis-server:redis-server; do cmd=$${b%%:*}; pkg=$${b##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || need="$$need $$pkg"; done; \
	if [ -n "$$need" ]; then echo "apt-get install$$need"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need) >/dev/null; fi

test: install apt-deps ctest valgrind fuzz pytest asan-test memo-versions

pytest: install
	$(VPY) -m pytest -q

build/ctest/%: tests/c/%.c $(CSRC_CORE) $(wildcard csrc/core/*.h) $(wildcard tests/c/*.h)
	@mkdir -p build/ctest
	$(CC) $(CFLAGS_C) -o $@ $< $(CSRC_CORE) -lm

# test_bpe compiles fl_bpe.c itself, with a test-only table limit
build/ctest/test_bpe: tests/c/test_bpe.c $(CSRC_CORE) $(wildcard csrc/core/*.h) $(wildcard tests/c/*.h)
	@mkdir -p build/ctest
	$(CC) $(CFLAGS_C) -o $@ $< $(filter-out csrc/core/fl_bpe.c,$(CSRC_CORE)) -lm

ctest: $(CTESTS)
	@for t in $(CTESTS); do echo "== $$t"; $$t || exit 1; done

valgrind: $(CTESTS)
	@for t in $(CTESTS); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

# libFuzzer + ASan/UBSan on the C tokenizer, the TTL map, the limiter's table steps and the weighted pick (tests/fuzz/); a short
# run of each in `make test`, longer with FUZZ_SECONDS=600 (per target). Rank files:
# the ones LiteLLM bundles.
FUZZ_SECONDS ?= 30
TOKDIR = $$($(VPY) -c "import importlib.util,os;print(os.path.join(os.path.dirname(importlib.util.find_spec('litellm').origin),'litellm_core_utils','tokenizers'))")
build/fuzz/fuzz_tokenizer: tests/fuzz/fuzz_tokenizer.c $(CSRC_CORE) $(wildcard csrc/core/*.h)
	@mkdir -p build/fuzz
	clang -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Icsrc/core -o $@ $< $(CSRC_CORE)

build/fuzz/fuzz_ttlmap: tests/fuzz/fuzz_ttlmap.c $(CSRC_CORE) $(wildcard csrc/core/*.h) $(wildcard tests/c/*.h)
	@mkdir -p build/fuzz
	clang -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Icsrc/core -o $@ $< $(CSRC_CORE)

build/fuzz/fuzz_rlstep: tests/fuzz/fuzz_rlstep.c $(CSRC_CORE) $(wildcard csrc/core/*.h)
	@mkdir -p build/fuzz
	clang -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Icsrc/core -o $@ $< $(CSRC_CORE)

build/fuzz/fuzz_wpick: tests/fuzz/fuzz_wpick.c $(CSRC_CORE) $(wildcard csrc/core/*.h)
	@mkdir -p build/fuzz
	clang -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Icsrc/core -o $@ $< $(CSRC_CORE)

fuzz: install build/fuzz/fuzz_tokenizer build/fuzz/fuzz_ttlmap build/fuzz/fuzz_wpick build/fuzz/fuzz_rlstep
	@d=$(TOKDIR); mkdir -p build/fuzz/corpus; \
	FL_FUZZ_RANKS=$$d/9b5ad71b2ce5302211f9c61530b329a4922fc6a4:$$d/fb374d419588a4632f3f557e76b4b70aebbca790:$$d/ec7223a39ce59f226a68acc30dc1af2788490e15 \
	  build/fuzz/fuzz_tokenizer -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	  build/fuzz/corpus 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|SUMMARY" ; \
	  test $${PIPESTATUS[0]} -eq 0
	@mkdir -p build/fuzz/corpus_ttlmap; \
	build/fuzz/fuzz_ttlmap -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	  build/fuzz/corpus_ttlmap 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|SUMMARY|MISMATCH" ; \
	  test $${PIPESTATUS[0]} -eq 0
	@mkdir -p build/fuzz/corpus_rlstep; \
	build/fuzz/fuzz_rlstep -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -print_final_stats=1 \
	  build/fuzz/corpus_rlstep 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|SUMMARY" ; \
	  test $${PIPESTATUS[0]} -eq 0
	@mkdir -p build/fuzz/corpus_wpick; \
	build/fuzz/fuzz_wpick -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	  build/fuzz/corpus_wpick 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|SUMMARY" ; \
	  test $${PIPESTATUS[0]} -eq 0

# The extension built with ASan/UBSan, and the Python suite (minus the slow
# process-level suites, which run the same code) on it.
asan-test: install
	rm -rf build/asan build/asan-tmp && mkdir -p build/asan
	cp -r src/fast_litellm build/asan/ && rm -f build/asan/fast_litellm/*.so
	FAST_LITELLM_SANITIZE=1 $(VPY) setup.py -q build_ext --build-lib build/asan --build-temp build/asan-tmp >/dev/null 2>&1
	PYTHONPATH=build/asan LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  FAST_LITELLM_EXPECT_SANITIZED=1 \
	  $(VPY) -m pytest -q -m "not e2e and not deploy and not exhaustive" -p no:cacheprovider

# The routing checks' memo reads CPython's dict version tags, deprecated from 3.12: the
# extension built for each other interpreter it is compiled for (3.12, 3.13) that this
# machine has, and tests/depmemo_tags.py run on it (the suite itself runs on the venv's).
memo-versions:
	@for v in 3.12 3.13; do py=""; \
	  for c in $$(command -v python$$v) /usr/bin/python$$v /usr/local/bin/python$$v $$HOME/.pyenv/versions/$$v*/bin/python$$v; do \
	    if [ -x "$$c" ] && "$$c" -c 'import sysconfig' >/dev/null 2>&1; then py=$$c; break; fi; done; \
	  if [ -z "$$py" ]; then echo "memo-versions: no python$$v on this machine, not checked"; continue; fi; \
	  inc=$$($$py -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	  suf=$$($$py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'); \
	  d=build/memo-$$v/fast_litellm; rm -rf build/memo-$$v; mkdir -p $$d; touch $$d/__init__.py; \
	  $(CC) -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -Icsrc/core -Icsrc/ext -I$$inc \
	    csrc/core/*.c csrc/ext/*.c -lm -o $$d/_native$$suf || exit 1; \
	  PYTHONPATH=build/memo-$$v:tests $$py tests/depmemo_tags.py || exit 1; \
	done

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
