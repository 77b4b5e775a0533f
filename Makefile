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

.PHONY: all deps test demo lint valgrind clean install

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
	@sh tools/deps.sh

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

lint:
	luacheck lua tests examples

install: $(CORE)
	install -d $(DESTDIR)$(LUA_LIBDIR)/campaign $(DESTDIR)$(LUA_SHAREDIR)/campaign
	install -m 0755 $(CORE) $(DESTDIR)$(LUA_LIBDIR)/campaign/core.so
	install -m 0644 lua/campaign/*.lua $(DESTDIR)$(LUA_SHAREDIR)/campaign/

clean:
	rm -rf build
