# The user's interface. Every target configures what it needs; `make help` lists them.
BUILD    ?= build
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
HOST     ?= localhost
PORT     ?= 21567
# Warnings are errors in CI (CI=true), plain warnings on a developer's machine.
WERROR   ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure -j $(JOBS) --timeout 300

configure = cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) -DSOCKETSERVER_WERROR=$(WERROR) \
            -DSOCKETSERVER_SANITIZE=$(3) $(CMAKE_FLAGS) >/dev/null

.PHONY: all build deps test run samples asan tsan install clean help bench exercise grade-all

all: build

deps:
	@sh scripts/ensure-deps.sh

build: deps
	@$(call configure,$(BUILD),RelWithDebInfo,)
	cmake --build $(BUILD) -j $(JOBS)

samples: deps
	@$(call configure,$(BUILD),RelWithDebInfo,)
	cmake --build $(BUILD) -j $(JOBS) --target samples

test: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

run: samples
	$(BUILD)/samples/tsTservSS --host $(HOST) --port $(PORT)

asan: deps
	@$(call configure,$(BUILD)-asan,Debug,address)
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

tsan: deps
	@$(call configure,$(BUILD)-tsan,Debug,thread)
	cmake --build $(BUILD)-tsan -j $(JOBS)
	cd $(BUILD)-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest $(CTEST_FLAGS)

install: build
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
	@cmake --build $(BUILD) -j $(JOBS) --target socketserver >/dev/null
	@if [ "$@" = exercise ]; then python3 exercises/$(EX)/grader.py --build $(BUILD) --file $(FILE); \
	 else python3 exercises/grader/grade_all.py $(EX) "$(DIR)" --build $(BUILD); fi

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan

help:
	@echo "make            build the library, samples and tests (into $(BUILD)/)"
	@echo "make test       build and run every test (ctest)"
	@echo "make run        build and start the timestamp server on $(HOST):$(PORT)"
	@echo "make samples    build the chapter's sample programs ($(BUILD)/samples/)"
	@echo "make asan       run the suite under AddressSanitizer + UBSan"
	@echo "make tsan       run the suite under ThreadSanitizer"
	@echo "make bench      run the benchmark against Python, Twisted, Poco, Asio (bench/README.md;"
	@echo "                BENCH_ARGS='--quick', '--only raw_epoll,ss_reactor_1', '--reps 5' ...)"
	@echo "make install    install into PREFIX (now $(PREFIX))"
	@echo "make exercise EX=2-12 [FILE=f.cpp]   grade an exercise (exercises/README.md)"
	@echo "make grade-all EX=2-12 DIR=folder    grade every submission in a folder: a table"
	@echo "make clean      remove the build trees"
