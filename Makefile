# lua-campaign. Every path and tool is a variable: override on the command
# line, e.g. make LUA_VERSION=5.1, make CC=clang, make PREFIX=/opt/lua.

LUA_VERSION ?= 5.4
CC          ?= cc
PKG_CONFIG  ?= pkg-config
OPT         ?= -O2 -g
WARN        ?= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
SANITIZE    ?=

ifeq ($(LUA_VERSION),jit)
LUA_PC      ?= luajit
LUA         ?= luajit
LUA_ABI     ?= 5.1
else
LUA_PC      ?= lua$(LUA_VERSION)
LUA         ?= lua$(LUA_VERSION)
LUA_ABI     ?= $(LUA_VERSION)
endif

LUA_CFLAGS  ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null)
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   ?= $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)

CFLAGS      ?= $(OPT)
ALL_CFLAGS   = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden $(WARN) \
               $(LUA_CFLAGS) $(CURL_CFLAGS) $(SANITIZE) $(CFLAGS)
LDFLAGS     ?=
ALL_LDFLAGS  = -shared $(SANITIZE) $(LDFLAGS)

BUILD       ?= build/$(LUA_VERSION)
SRCS         = $(wildcard src/*.c)
OBJS         = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
CORE         = $(BUILD)/campaign/core.so

PREFIX      ?= /usr/local
LUA_LIBDIR  ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUA_SHAREDIR?= $(PREFIX)/share/lua/$(LUA_ABI)

BUSTED      ?= /usr/bin/busted
TEST_ENV     = LUA_PATH='lua/?.lua;lua/?/init.lua;tests/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;'

.PHONY: all deps test demo doc lint valgrind clean install

all: $(CORE)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE): $(OBJS) | $(BUILD)/campaign
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(CURL_LIBS)

$(BUILD)/obj $(BUILD)/campaign:
	mkdir -p $@

# Installs the Debian packages the build, the tests and the demo need
# (only those missing; needs root when something is missing).
deps:
	@LUA_VERSION=$(LUA_VERSION) sh tools/deps.sh

# lint and doc install nothing: $(call need,COMMAND,PACKAGE) fails, naming
# the Debian package, when COMMAND is missing.
need = command -v $(1) >/dev/null 2>&1 || { echo "make $@: $(1) is missing: install the \
Debian package $(2) (apt-get install $(2), as root)" >&2; exit 1; }

test: deps
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) $(LUA) $(BUSTED) $(BUSTED_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) $(LUA) examples/demo.lua

# The suite under valgrind: any memory error or definite leak fails it.
valgrind: deps
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	  --error-exitcode=99 $(LUA) $(BUSTED) $(BUSTED_ARGS)

# The Lua API reference from the LDoc comments in lua/ (config.ld), into
# build/doc/index.html.
# ldoc under lua5.1, for which Debian packages lua-markdown (lua-any
# would pick 5.2, and LDoc would fall back to plain text).
doc:
	@$(call need,ldoc,lua-ldoc)
	@$(call need,lua5.1,lua5.1)
	lua5.1 $$(command -v ldoc) -q .

# Lua under luacheck (.luacheckrc), C under cppcheck; -Wall -Wextra -Werror
# is part of every build.
lint:
	@$(call need,luacheck,lua-check)
	@$(call need,cppcheck,cppcheck)
	luacheck -q lua tests examples bench bin/campaign
	cppcheck -q --std=c99 --enable=warning,performance,portability --error-exitcode=1 \
	  --suppress=toomanyconfigs $(LUA_CFLAGS) src/ bench/

install: $(CORE)
	install -d $(DESTDIR)$(LUA_LIBDIR)/campaign $(DESTDIR)$(LUA_SHAREDIR)/campaign/cli
	install -m 0755 $(CORE) $(DESTDIR)$(LUA_LIBDIR)/campaign/core.so
	install -m 0644 lua/campaign/*.lua $(DESTDIR)$(LUA_SHAREDIR)/campaign/
	install -d $(DESTDIR)$(LUA_SHAREDIR)/campaign/providers
	install -m 0644 lua/campaign/providers/*.lua $(DESTDIR)$(LUA_SHAREDIR)/campaign/providers/
	install -m 0644 lua/campaign/cli/*.lua $(DESTDIR)$(LUA_SHAREDIR)/campaign/cli/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/campaign $(DESTDIR)$(PREFIX)/bin/campaign

clean:
	rm -rf build

# ---- fuzzing (tests/fuzz/, the README section "Fuzzing") ------------------
# make fuzz: libFuzzer drives src/*.c (built with ASan + UBSan, LeakSanitizer
# on) and the Lua client through tests/fuzz/fuzz_campaign.c, for FUZZ_SECONDS.
# The corpus grows in FUZZ_CORPUS; tests/fuzz/corpus holds the seeds. Any
# crash, sanitizer report, leak, timeout or broken contract fails the run and
# leaves the input in $(FUZZ_DIR) (crash-*, leak-*, timeout-*).
# make fuzz-ci: the same for FUZZ_CI_SECONDS, from the seeds alone.
FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 90
FUZZ_DIR        ?= build/fuzz
FUZZ_CORPUS     ?= $(FUZZ_DIR)/corpus
FUZZ_SAN         = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS      = -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
                   $(WARN) $(shell $(PKG_CONFIG) --cflags lua5.4) $(CURL_CFLAGS) $(FUZZ_SAN)
FUZZ_OBJS        = $(SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN         = $(FUZZ_DIR)/fuzz_campaign
# Leaks: the harness keeps one Lua state across inputs, so libFuzzer's check
# after each input (-detect_leaks) would only see the Lua heap breathing; the
# state is closed at exit and LeakSanitizer (ASAN_OPTIONS) fails the run then.
FUZZ_RUN_FLAGS   = -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=65536 \
                   -detect_leaks=0 -print_final_stats=1 \
                   -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_ARGS)
FUZZ_ENV         = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
                   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-ci fuzz-build fuzz-seeds

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h) | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BIN): tests/fuzz/fuzz_campaign.c $(FUZZ_OBJS) | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DCAMPAIGN_ROOT='"$(CURDIR)"' \
	  tests/fuzz/fuzz_campaign.c $(FUZZ_OBJS) -o $@ \
	  $(shell $(PKG_CONFIG) --libs lua5.4) $(CURL_LIBS) -lm

$(FUZZ_DIR)/obj $(FUZZ_CORPUS):
	mkdir -p $@

fuzz-build:
	@LUA_VERSION=5.4 sh tools/deps.sh
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Rewrites tests/fuzz/corpus from tests/fuzz/samples.lua.
fuzz-seeds:
	lua5.4 tests/fuzz/gen_seeds.lua tests/fuzz/corpus

fuzz: fuzz-build | $(FUZZ_CORPUS)
	$(FUZZ_ENV) nice -n 10 $(FUZZ_BIN) $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	  $(FUZZ_CORPUS) tests/fuzz/corpus

fuzz-ci: fuzz-build
	rm -rf $(FUZZ_DIR)/ci-corpus && mkdir -p $(FUZZ_DIR)/ci-corpus
	$(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_CI_SECONDS) \
	  $(FUZZ_DIR)/ci-corpus tests/fuzz/corpus

# ---- benchmarks (bench/) ---------------------------------------------------
# bench/walk.c: the least reading of a payload, to show prepare's floor.
$(BUILD)/bench/walk.so: bench/walk.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# bench/curl_loop.c: sequential POSTs over one libcurl handle, the floor of
# sequential creates.
$(BUILD)/bench/curl_loop: bench/curl_loop.c
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CURL_CFLAGS) $(SANITIZE) $(CFLAGS) \
	  -o $@ $< $(CURL_LIBS)

# make bench: ratios against baselines measured side by side in the same run
# (cjson.encode, nginx's proxy_pass under wrk, a bare libcurl loop, the curl
# command-line tool). Never part of the tests' pass/fail. BENCH_QUICK=1 for
# a short run. nginx loads the LuaJIT build of the core (build/jit).
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/walk.so $(BUILD)/bench/curl_loop
	@$(MAKE) --no-print-directory LUA_VERSION=jit BUILD=build/jit all
	@$(TEST_ENV) BENCH_BUILD=$(BUILD) $(LUA) bench/run.lua
