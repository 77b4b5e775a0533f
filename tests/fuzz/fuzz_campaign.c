/* libFuzzer harness for campaign.core and the client on top of it.
 *
 * The fuzzer's bytes are read as a small program that builds Lua values
 * (see decode_value for the tags): nested tables, lists with holes, mixed
 * keys, cycles, metatables whose metamethods raise or yield, NaN and
 * infinities, huge and negative numbers, long strings with NUL, CR/LF and
 * invalid UTF-8, functions, userdata, coroutines, cjson.null. driver.lua
 * feeds them to campaign.client, prepare, create, update and the other
 * operations of every provider, through a transport that answers with
 * responses built from the same bytes, and to campaign.core directly; it
 * checks every outcome against the API contract and returns a message when
 * one is broken. The harness then abort()s, so that libFuzzer keeps the
 * input.
 *
 * Build: make fuzz (the C sources and this file with ASan + UBSan + libFuzzer,
 * Lua 5.4 and lua-cjson from Debian). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_campaign_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef CAMPAIGN_ROOT
#define CAMPAIGN_ROOT "."
#endif

/* Bounds on what one input may build, so that each run stays fast. */
#define MAX_NODES 4096          /* values decoded per input */
#define MAX_DEPTH 48            /* recursion of the decoder itself */
#define MAX_NEST 3000           /* the nest tag: levels built in a loop */
#define MAX_STRING (1u << 16)   /* bytes taken literally from the input */
#define MAX_REPEAT (1u << 20)   /* repeated strings, in bytes per input */
#define MAX_COPIES 12000        /* the many tag: list items per input */
#define MAX_RESPONSES 4         /* transport answers, one per attempt */

/* Outcome feedback: hashes of what the Lua side saw (error kinds, message
 * shapes), so that inputs reaching new validation messages are kept even
 * when no new C edge is hit. */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t outcome_counters[4096];

static lua_State *L;
static int driver_ref = LUA_NOREF;

typedef struct reader {
  const uint8_t *p;
  size_t n, i;
  int nodes, depth;
  size_t repeated;   /* bytes made by the repeat tag so far */
  uint32_t copies;   /* list items made by the many tag so far */
  int tables;        /* stack index: tables built so far, for back references */
  int ntables;
  int lib;           /* stack index: the driver table */
} reader;

static unsigned u8(reader *r) {
  return r->i < r->n ? r->p[r->i++] : 0;
}

static unsigned u16(reader *r) {
  unsigned a = u8(r);
  return a | (u8(r) << 8);
}

static uint64_t u64(reader *r) {
  uint64_t v = 0;
  for (int k = 0; k < 8; k++) {
    v |= (uint64_t)u8(r) << (8 * k);
  }
  return v;
}

/* LEB128, capped. */
static uint32_t varint(reader *r, uint32_t cap) {
  uint64_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    unsigned b = u8(r);
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      break;
    }
  }
  return v > cap ? cap : (uint32_t)v;
}

/* lib[name][i % #lib[name] + 1], pushed. */
static void push_pick(reader *r, const char *name, unsigned i) {
  lua_Integer n;
  lua_getfield(L, r->lib, name);
  n = (lua_Integer)lua_rawlen(L, -1);
  lua_rawgeti(L, -1, n ? (lua_Integer)(i % (unsigned)n) + 1 : 1);
  lua_remove(L, -2);
}

static void remember_table(reader *r, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);
  lua_rawseti(L, r->tables, ++r->ntables);
}

static void decode_value(reader *r);

static void decode_string(reader *r) {
  uint32_t len = varint(r, MAX_STRING);
  size_t left = r->n - r->i;
  if (len > left) {
    len = (uint32_t)left;
  }
  lua_pushlstring(L, (const char *)r->p + r->i, len);
  r->i += len;
}

/* A table whose keys and values are further values. */
static void decode_table(reader *r, int as_list) {
  unsigned count = u8(r);
  int t;
  lua_createtable(L, as_list ? (int)count : 0, as_list ? 0 : (int)count);
  t = lua_gettop(L);
  remember_table(r, t);
  for (unsigned k = 0; k < count && r->i < r->n && r->nodes < MAX_NODES; k++) {
    if (as_list) {
      decode_value(r);
      lua_rawseti(L, t, (lua_Integer)k + 1);
    } else {
      decode_value(r);
      decode_value(r);
      if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER &&
                               lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
        lua_pop(L, 2); /* nil and NaN cannot be keys */
      } else {
        lua_rawset(L, t);
      }
    }
  }
}

static const double special_numbers[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 1e14, 1e14 - 1, 1e15, 9007199254740992.0,
    9007199254740993.0, 9223372036854775808.0, -9223372036854775808.0, 1e300, -1e300,
    5e-324, 2.2250738585072014e-308, 10000, 10001, 300, 301, 1000, 1001, 86400, 3600,
    100, 101, 2147483648.0, 4294967296.0, 1e9, 1e9 + 1, 0.001, 59.5};

/* Tags 4 to 7: a 64-bit integer, the bits of a double, a special double,
 * NaN or an infinity. */
static void decode_number(reader *r, unsigned tag) {
  switch (tag) {
    case 4: lua_pushinteger(L, (lua_Integer)u64(r)); break;
    case 5: {
      uint64_t bits = u64(r);
      double d;
      memcpy(&d, &bits, sizeof d);
      lua_pushnumber(L, d);
      break;
    }
    case 6: {
      unsigned i = u8(r);
      double d = special_numbers[i % (sizeof special_numbers / sizeof *special_numbers)];
      lua_pushnumber(L, (i & 0x80) ? -d : d);
      break;
    }
    default: {
      unsigned i = u8(r) % 4;
      double zero = 0.0;
      lua_pushnumber(L, i == 0 ? zero / zero : i == 1 ? 1 / zero : i == 2 ? -1 / zero
                                                                        : -(zero / zero));
      break;
    }
  }
}

/* Tag 10: a value, repeated when it is a string. */
static void decode_repeat(reader *r) {
  uint32_t times;
  decode_value(r);
  times = u8(r);
  times |= (u8(r) & 0x0f) << 8;  /* up to 4095 copies */
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len = lua_rawlen(L, -1);
    if (len == 0) {
      len = 1;
    }
    if ((uint64_t)len * times > MAX_REPEAT - r->repeated) {
      times = (uint32_t)((MAX_REPEAT - r->repeated) / len);
    }
    r->repeated += (size_t)len * times;
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "rep");
    lua_remove(L, -2);
    lua_insert(L, -2);
    lua_pushinteger(L, times);
    lua_call(L, 2, 1);
  }
}

/* Tag 13: a table with a metatable from the driver. */
static void decode_with_metatable(reader *r) {
  unsigned which = u8(r);
  decode_value(r);              /* extra: what some metamethods return */
  decode_value(r);              /* the table (or anything) */
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    remember_table(r, -1);
  }
  lua_getfield(L, r->lib, "make_mt");
  lua_pushinteger(L, which);
  lua_pushvalue(L, -4);
  lua_call(L, 2, 1);
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
}

/* Tag 14: a table built before (cycles), or a new one. */
static void decode_back_reference(reader *r) {
  unsigned i = u8(r);
  if (r->ntables == 0) {
    lua_newtable(L);
    remember_table(r, -1);
  } else {
    lua_rawgeti(L, r->tables, (lua_Integer)(i % (unsigned)r->ntables) + 1);
  }
}

/* Tag 17: a full userdata, with a metatable from the driver or none. */
static void decode_userdata(reader *r) {
  unsigned which = u8(r);
  void *p = lua_newuserdatauv(L, which % 17, 1);
  memset(p, 0xA5, which % 17);
  if (which & 0x80) {
    lua_getfield(L, r->lib, "make_mt");
    lua_pushinteger(L, which);
    lua_pushnil(L);
    lua_call(L, 2, 1);
    lua_setmetatable(L, -2);
  }
}

/* Tag 19: levels of {x} or {[key] = x} around a value, built in a loop. */
static void decode_nest(reader *r) {
  uint32_t levels = varint(r, MAX_NEST);
  unsigned shape = u8(r);
  decode_value(r);              /* key used by the named shape */
  decode_value(r);              /* the innermost value */
  if (lua_type(L, -2) != LUA_TSTRING) {
    lua_pushliteral(L, "x");
    lua_replace(L, -3);
  }
  for (uint32_t k = 0; k < levels; k++) {
    lua_createtable(L, 1, 1);
    lua_insert(L, -2);
    if ((shape >> (k % 8)) & 1) {
      lua_pushvalue(L, -3);
      lua_insert(L, -2);
      lua_rawset(L, -3);
    } else {
      lua_rawseti(L, -2, 1);
    }
  }
  lua_remove(L, -2);
}

/* Tag 20: many copies of a value in a list. */
static void decode_copies(reader *r) {
  uint32_t copies = varint(r, MAX_COPIES);
  int v;
  decode_value(r);              /* may use some of the room itself */
  v = lua_gettop(L);
  if (copies > MAX_COPIES - r->copies) {
    copies = MAX_COPIES - r->copies;
  }
  if (lua_isnil(L, v)) {
    copies = 0;   /* no copies of nil: they would add no key, only time */
  }
  r->copies += copies;
  lua_createtable(L, (int)copies, 0);
  for (uint32_t k = 1; k <= copies; k++) {
    lua_pushvalue(L, v);
    lua_rawseti(L, -2, k);
  }
  lua_remove(L, v);
}

/* Tag 21: a deep copy of a known good table, with edits: path key, value. */
static void decode_template(reader *r) {
  unsigned which = u16(r), edits = u8(r) % 8;
  int t;
  lua_getfield(L, r->lib, "template");
  lua_pushinteger(L, which);
  lua_call(L, 1, 1);
  t = lua_gettop(L);
  remember_table(r, t);
  for (unsigned k = 0; k < edits && r->i < r->n; k++) {
    lua_getfield(L, r->lib, "edit");
    lua_pushvalue(L, t);
    lua_pushinteger(L, u8(r));
    decode_value(r);            /* key, where the path ends */
    decode_value(r);            /* new value */
    lua_call(L, 4, 0);
  }
}

/* Pushes exactly one value. Tags (the first byte mod 24):
 *  0 nil  1 false  2 true  3 small integer  4 64-bit integer  5 64-bit float
 *  6 special float  7 NaN/inf  8 string  9 dictionary string  10 repeated
 *  string  11 table  12 list  13 table with a metatable  14 back reference
 *  (cycles)  15 function  16 coroutine  17 userdata  18 light userdata
 *  19 nest (many levels)  20 many copies in a list  21 template (a known
 *  good table, then edits)  22 integer-valued float  23 dictionary string
 *  with a byte appended */
static void decode_value(reader *r) {
  unsigned tag;
  luaL_checkstack(L, 16, "fuzz decoder");
  if (r->i >= r->n || r->nodes >= MAX_NODES || r->depth >= MAX_DEPTH) {
    lua_pushnil(L);
    return;
  }
  r->nodes++;
  r->depth++;
  tag = u8(r) % 24;
  switch (tag) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, 0); break;
    case 2: lua_pushboolean(L, 1); break;
    case 3: lua_pushinteger(L, (int8_t)u8(r)); break;
    case 4:
    case 5:
    case 6:
    case 7: decode_number(r, tag); break;
    case 8: decode_string(r); break;
    case 9: push_pick(r, "strings", u16(r)); break;
    case 10: decode_repeat(r); break;
    case 11: decode_table(r, 0); break;
    case 12: decode_table(r, 1); break;
    case 13: decode_with_metatable(r); break;
    case 14: decode_back_reference(r); break;
    case 15: push_pick(r, "functions", u8(r)); break;
    case 16: {
      lua_State *co = lua_newthread(L);
      push_pick(r, "functions", u8(r));
      lua_xmove(L, co, 1);
      break;
    }
    case 17: decode_userdata(r); break;
    case 18: lua_pushlightuserdata(L, (u8(r) & 1) ? (void *)(uintptr_t)0x1000 : NULL); break;
    case 19: decode_nest(r); break;
    case 20: decode_copies(r); break;
    case 21: decode_template(r); break;
    case 22: lua_pushnumber(L, (double)(int16_t)u16(r)); break;
    case 23:
      push_pick(r, "strings", u16(r));
      {
        char c = (char)u8(r);
        lua_pushlstring(L, &c, 1);
        lua_concat(L, 2);
      }
      break;
  }
  r->depth--;
}

/* One transport answer: {mode, status, headers, body, typed}. The typed
 * flag says it is what an HTTP server could send (an integer status, string
 * headers, a string body), so the client must not raise on it. */
static void decode_response(reader *r) {
  unsigned mode = u8(r), form = u8(r);
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, mode);
  lua_setfield(L, -2, "mode");
  if (form & 1) {
    decode_value(r);
  } else {
    static const int common[] = {200, 201, 202, 204, 400, 401, 403, 404, 409, 422,
                                 429, 500, 502, 503, 504, 301, 302, 307};
    unsigned s = u8(r);
    if (s < 200) {
      lua_pushinteger(L, common[s % (sizeof common / sizeof *common)]);
    } else {
      lua_pushinteger(L, (lua_Integer)(u16(r) % 1000));
    }
  }
  lua_setfield(L, -2, "status");
  if (form & 2) {
    decode_value(r);
  } else {
    /* string names and values */
    unsigned n = u8(r) % 6;
    lua_createtable(L, 0, (int)n);
    for (unsigned k = 0; k < n && r->i < r->n; k++) {
      if (u8(r) & 1) {
        push_pick(r, "strings", u16(r));
      } else {
        decode_string(r);
      }
      decode_string(r);
      lua_rawset(L, -3);
    }
  }
  lua_setfield(L, -2, "headers");
  if (form & 4) {
    decode_value(r);
  } else if (form & 8) {
    push_pick(r, "bodies", u8(r));
  } else {
    decode_string(r);
  }
  lua_setfield(L, -2, "body");
  lua_pushboolean(L, (form & 7) == 0);
  lua_setfield(L, -2, "typed");
}

static void fail(const char *what) {
  fprintf(stderr, "\n==fuzz== contract violated: %s\n", what);
  fflush(stderr);
  abort();
}

/* At exit the state is closed (every __gc runs, curl handles included)
 * before LeakSanitizer looks: what is left then is a leak. */
static void close_state(void) {
  if (L) {
    lua_close(L);
    L = NULL;
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *root = getenv("CAMPAIGN_ROOT");
  (void)argc;
  (void)argv;
  if (!root || !*root) {
    root = CAMPAIGN_ROOT;
  }
  L = luaL_newstate();
  if (!L) {
    fail("luaL_newstate");
  }
  luaL_openlibs(L);
  /* campaign.core is linked in: require finds it in package.preload. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_campaign_core);
  lua_setfield(L, -2, "campaign.core");
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  /* dkjson (Debian's lua-dkjson) for the writer's differential check. */
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s/tests/fuzz/?.lua;"
                  "/usr/share/lua/5.4/?.lua", root, root, root);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "cpath");
  lua_pushliteral(L, ";/usr/lib/x86_64-linux-gnu/lua/5.4/?.so");
  lua_concat(L, 2);
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "driver");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz: cannot load the driver: %s\n", lua_tostring(L, -1));
    fail("driver");
  }
  lua_getfield(L, -1, "init");
  lua_pushstring(L, root);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz: driver.init: %s\n", lua_tostring(L, -1));
    fail("driver.init");
  }
  driver_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  atexit(close_state);
  return 0;
}

static unsigned long runs;

/* Decodes the case (run protected: building values calls into Lua).
 * Stack in: the reader as a light userdata, the driver table. Out: the
 * case table. */
static int build_case(lua_State *LL) {
  reader *r = lua_touserdata(LL, 1);
  unsigned nresp;
  r->lib = 2;
  lua_createtable(L, 0, 12);
  lua_newtable(L);
  r->tables = lua_gettop(L);

  /* The case: header bytes, then the values. */
  lua_pushinteger(L, u8(r));
  lua_setfield(L, -3, "provider");
  lua_pushinteger(L, u8(r));
  lua_setfield(L, -3, "call");
  lua_pushinteger(L, u8(r));
  lua_setfield(L, -3, "op");
  lua_pushinteger(L, u8(r));
  lua_setfield(L, -3, "opts_mode");
  lua_pushinteger(L, u8(r));
  lua_setfield(L, -3, "flags");
  decode_value(r);
  lua_setfield(L, -3, "opts");
  decode_value(r);
  lua_setfield(L, -3, "fields");
  decode_value(r);
  lua_setfield(L, -3, "id");
  decode_value(r);
  lua_setfield(L, -3, "call_opts");
  nresp = u8(r) % MAX_RESPONSES + 1;
  lua_createtable(L, (int)nresp, 0);
  for (unsigned k = 1; k <= nresp; k++) {
    decode_response(r);
    lua_rawseti(L, -2, k);
  }
  lua_setfield(L, -3, "responses");
  lua_pop(L, 1); /* the back-reference list */
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r;
  int top = lua_gettop(L), ok;
  memset(&r, 0, sizeof r);
  r.p = data;
  r.n = size;
  lua_rawgeti(L, LUA_REGISTRYINDEX, driver_ref);
  lua_getfield(L, -1, "run");
  lua_pushcfunction(L, build_case);
  lua_pushlightuserdata(L, &r);
  lua_pushvalue(L, -4);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz: building the case raised: %s\n",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
    fail("decoder error");
  }
  ok = lua_pcall(L, 1, 1, 0);
  if (ok != LUA_OK) {
    /* The driver catches everything the library raises: this is a bug in
     * the driver, or a memory error Lua reported. */
    fprintf(stderr, "fuzz: the driver raised: %s\n",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
    fail("driver error");
  }
  if (lua_type(L, -1) == LUA_TSTRING) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    fail("see above");
  }
  if (lua_type(L, -1) == LUA_TNUMBER) {
    uint32_t h = (uint32_t)lua_tointeger(L, -1);
    outcome_counters[h % sizeof outcome_counters]++;
  }
  lua_settop(L, top);

  /* Keep the heap small between runs; check it stays bounded. */
  if (++runs % 256 == 0) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (lua_gc(L, LUA_GCCOUNT, 0) > 64 * 1024) {
      fail("the Lua heap stays above 64 MiB after a full collection");
    }
  } else {
    lua_gc(L, LUA_GCSTEP, 64);
  }
  return 0;
}
