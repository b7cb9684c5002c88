# The user's interface. Every target configures what it needs; `make help` lists them.
BUILD    ?= build
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
HOST     ?= localhost
PORT     ?= 21567
# Warnings are errors in CI (CI=true), plain warnings on a developer's machine.
WERROR   ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=
# `make -j2 ...` already runs a jobserver: the builds below ("+" lines) share it instead of
# forcing their own -j (which made GNU make warn "-jN forced in submake"). Plain `make`: -j JOBS.
PARALLEL = $(if $(filter -j%,$(MAKEFLAGS)),,-j $(JOBS))
CTEST_FLAGS ?= --output-on-failure -j $(JOBS) --timeout 300
FUZZ_SECONDS ?= 60

configure = cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) -DSOCKETSERVER_WERROR=$(WERROR) \
            -DSOCKETSERVER_SANITIZE=$(3) $(CMAKE_FLAGS) >/dev/null

.PHONY: all build deps test run samples asan tsan fuzz install clean help bench exercise grade-all

all: build

deps:
	@sh scripts/ensure-deps.sh

build: deps
	@$(call configure,$(BUILD),RelWithDebInfo,)
	+cmake --build $(BUILD) $(PARALLEL)

samples: deps
	@$(call configure,$(BUILD),RelWithDebInfo,)
	+cmake --build $(BUILD) $(PARALLEL) --target samples

test: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

run: samples
	$(BUILD)/samples/tsTservSS --host $(HOST) --port $(PORT)

asan: deps
	@$(call configure,$(BUILD)-asan,Debug,address)
	+cmake --build $(BUILD)-asan $(PARALLEL)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

tsan: deps
	@$(call configure,$(BUILD)-tsan,Debug,thread)
	+cmake --build $(BUILD)-tsan $(PARALLEL)
	cd $(BUILD)-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest $(CTEST_FLAGS)

# libFuzzer targets (fuzz/fuzz_*.cpp, clang, ASan+UBSan), each run for FUZZ_SECONDS.
fuzz:
	@sh scripts/ensure-deps.sh fuzz
	@cmake -S fuzz -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	+cmake --build $(BUILD)-fuzz $(PARALLEL)
	sh fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# Only the library is built for an install (not the tests and samples `make build` adds).
install: deps
	@$(call configure,$(BUILD),RelWithDebInfo,)
	+cmake --build $(BUILD) $(PARALLEL) --target socketserver
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: deps
	@sh bench/setup.sh
	python3 bench/run.py $(BENCH_ARGS)

# The classroom kit (exercises/README.md): builds the library only, then the grader compiles
# FILE (default: the exercise's starter.cpp, which the student edits) and checks it.
EX   ?=
FILE ?= exercises/$(EX)/starter.cpp
DIR  ?=
exercise grade-all: deps
	@test -n "$(EX)" -a -f exercises/$(EX)/grader.py || \
	  { echo "usage: make exercise EX=2-12 [FILE=path] | make grade-all EX=2-12 DIR=folder"; exit 2; }
	@$(call configure,$(BUILD),RelWithDebInfo,)
	+@cmake --build $(BUILD) $(PARALLEL) --target socketserver >/dev/null
	@if [ "$@" = exercise ]; then python3 exercises/$(EX)/grader.py --build $(BUILD) --file $(FILE); \
	 else python3 exercises/grader/grade_all.py $(EX) "$(DIR)" --build $(BUILD); fi

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz

help:
	@echo "make            build the library, samples and tests (into $(BUILD)/)"
	@echo "make test       build and run every test (ctest)"
	@echo "make run        build and start the timestamp server on $(HOST):$(PORT)"
	@echo "make samples    build the chapter's sample programs ($(BUILD)/samples/)"
	@echo "make asan       run the suite under AddressSanitizer + UBSan"
	@echo "make tsan       run the suite under ThreadSanitizer"
	@echo "make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS"
	@echo "                (now $(FUZZ_SECONDS)); findings under $(BUILD)-fuzz/artifacts/"
	@echo "make bench      run the benchmark against Python, Twisted, Poco, Asio (bench/README.md;"
	@echo "                BENCH_ARGS='--quick', '--only raw_epoll,ss_reactor_1', '--reps 5' ...)"
	@echo "make install    build the library only and install it into PREFIX (now $(PREFIX))"
	@echo "make exercise EX=2-12 [FILE=f.cpp]   grade an exercise (exercises/README.md)"
	@echo "make grade-all EX=2-12 DIR=folder    grade every submission in a folder: a table"
	@echo "make clean      remove the build trees"
