/* The generic validator. Everything it reads goes through raw table access
 * (lua_next, lua_rawget), as lua-cjson does when it encodes: what is checked
 * is exactly what will be sent, and no metamethod runs. It never raises on
 * bad input; it only appends {field = ..., message = ...} entries. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "validate.h"

/* lua-cjson (2.1.0) prints numbers with 14 significant digits ("%.14g", and
 * it takes no more than 14): integers with more digits than that, and most
 * fractions with more, would be rounded on the wire. */
#define V_INT_LIMIT 1e14
#define V_WIRE_FMT "%.14g"

#define MSG_MAX 480
#define NAME_SHOWN 48

static int name_is(const char *field, const char *name, size_t len) {
  for (size_t i = 0; i < len; i++) {
    /* The end of field stops it even when name has a NUL byte there. */
    if (field[i] == '\0' || field[i] != name[i]) {
      return 0;
    }
  }
  return field[len] == '\0';
}

static const vfield *find_field(const vobject *obj, const char *name, size_t len) {
  for (const vfield *f = obj->fields; f->name; f++) {
    if (f->name[0] == name[0] && name_is(f->name, name, len)) {
      return f;
    }
  }
  return NULL;
}

/* For names written in the provider files: the compiler merges equal
 * string literals, so a pointer comparison finds most of them. */
static const vfield *find_named(const vobject *obj, const char *name) {
  for (const vfield *f = obj->fields; f->name; f++) {
    if (f->name == name) {
      return f;
    }
  }
  return find_field(obj, name, strlen(name));
}


/* ---- paths ------------------------------------------------------------ */

static int path_push_lstr(vctx *ctx, const char *name, size_t len) {
  int old = ctx->nsteps;
  if (old < V_MAX_STEPS) {
    ctx->steps[old].key = name;
    ctx->steps[old].len = len;
    ctx->steps[old].index = 0;
    ctx->nsteps = old + 1;
  }
  return old;
}

int v_path_push(vctx *ctx, const char *name) {
  return path_push_lstr(ctx, name, strlen(name));
}

int v_path_push_index(vctx *ctx, long index) {
  int old = ctx->nsteps;
  if (old < V_MAX_STEPS) {
    ctx->steps[old].key = NULL;
    ctx->steps[old].index = index;
    ctx->nsteps = old + 1;
  }
  return old;
}

void v_path_pop(vctx *ctx, int old) {
  ctx->nsteps = old;
}

static void path_append(char *buf, size_t size, size_t *len, const char *s, size_t n) {
  size_t room = size - 1 - *len;
  if (n > room) {
    n = room;
  }
  memcpy(buf + *len, s, n);
  *len += n;
}

/* "dialPlan[2].customers[1].number"; long names are cut short. */
static size_t render_path(const vctx *ctx, char *buf, size_t size) {
  size_t len = 0;
  for (int i = 0; i < ctx->nsteps; i++) {
    const vstep *st = &ctx->steps[i];
    if (st->key) {
      if (len > 0) {
        path_append(buf, size, &len, ".", 1);
      }
      if (st->len > NAME_SHOWN) {
        path_append(buf, size, &len, st->key, NAME_SHOWN);
        path_append(buf, size, &len, "...", 3);
      } else {
        path_append(buf, size, &len, st->key, st->len);
      }
    } else {
      char num[32];
      int n = snprintf(num, sizeof num, "[%ld]", st->index);
      path_append(buf, size, &len, num, (size_t)n);
    }
  }
  buf[len] = '\0';
  return len;
}

/* ---- errors ----------------------------------------------------------- */

static void add_error(vctx *ctx, const char *fmt, va_list ap) {
  lua_State *L = ctx->L;
  char msg[MSG_MAX];
  ctx->nerr++;
  if (ctx->nerr > ctx->max_errors) {
    return;
  }
  vsnprintf(msg, sizeof msg, fmt, ap);
  luaL_checkstack(L, 4, "validator");
  if (ctx->nerr == 1) {
    /* The list is made on the first problem, in the slot kept for it. */
    lua_newtable(L);
    lua_replace(L, ctx->errors);
  }
  lua_createtable(L, 0, 2);
  {
    char path[V_PATH_MAX];
    size_t len = render_path(ctx, path, sizeof path);
    lua_pushlstring(L, path, len);
  }
  lua_setfield(L, -2, "field");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "message");
  lua_rawseti(L, ctx->errors, ctx->nerr);
}

/* Whether the list of problems is full: the next ones are only counted,
 * so nothing is worth working out for their messages. */
static int errors_full(const vctx *ctx) {
  return ctx->nerr >= ctx->max_errors;
}

void v_error(vctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
}

void v_error_at(vctx *ctx, const char *name, const char *fmt, ...) {
  va_list ap;
  int old = v_path_push(ctx, name);
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
  v_path_pop(ctx, old);
}

void v_error_at_index(vctx *ctx, const char *name, long index, const char *child,
                      const char *fmt, ...) {
  va_list ap;
  int old = v_path_push(ctx, name);
  v_path_push_index(ctx, index);
  if (child) {
    v_path_push(ctx, child);
  }
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
  v_path_pop(ctx, old);
}

/* ---- small helpers ---------------------------------------------------- */

static int is_null(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static const char *type_name(lua_State *L, int idx) {
  if (is_null(L, idx)) {
    return "null";
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double d = lua_tonumber(L, idx);
    if (d != d) {
      return "NaN";
    }
    if (isinf(d)) {
      return "infinity";
    }
  }
  return luaL_typename(L, idx);
}

static const char *expect_name(int type) {
  switch (type) {
    case VT_STRING: return "a string";
    case VT_INTEGER: return "an integer";
    case VT_NUMBER: return "a number";
    case VT_BOOLEAN: return "a boolean";
    case VT_OBJECT: return "a table of named fields";
    case VT_ARRAY: return "a list (a Lua array)";
    case VT_MAP: return "a table of named values";
    default: return "a JSON value";
  }
}

/* The number formatted for a message, as it is (never rounded, so that a
 * message cannot show 10 for 10.000000000000002): integers without a
 * fraction or an exponent, others in the fewest digits that read back to
 * the same double. */
static void fmt_number(char *buf, size_t size, double d) {
  if (d == floor(d) && fabs(d) < 1e21) {
    snprintf(buf, size, "%.0f", d);
    return;
  }
  for (int prec = 14; prec < 17; prec++) {
    snprintf(buf, size, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) {
      return;
    }
  }
  snprintf(buf, size, "%.17g", d);
}

/* The number at idx for a message: a Lua integer in full. */
static void fmt_value(char *buf, size_t size, lua_State *L, int idx, double d) {
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    snprintf(buf, size, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    return;
  }
#else
  (void)L;
  (void)idx;
#endif
  fmt_number(buf, size, d);
}

/* Whether lua-cjson sends the finite number at idx (d, as a double)
 * exactly: its V_WIRE_FMT text reads back to the same double and, for a
 * Lua integer, that double is the integer (above 2^53 most are not). An
 * integer below V_INT_LIMIT always is, and needs no formatting. */
static int number_exact(lua_State *L, int idx, double d) {
  static const double scale[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  char text[32];
  if (d > -V_INT_LIMIT && d < V_INT_LIMIT) {
    if (d == (double)(int64_t)d) {
      return 1;
    }
    /* A fraction with few decimals (19.99, 0.125, 37.774929) needs no
     * formatting either: when m / 10^k == d for an integer m below
     * V_INT_LIMIT, d is the double nearest that decimal of at most 14
     * digits, which V_WIRE_FMT writes and which reads back to d. m and
     * 10^k are exact doubles and the division is rounded once, so the test
     * holds however m was found. */
    for (size_t k = 0; k < sizeof scale / sizeof *scale; k++) {
      double m = floor(d * scale[k] + 0.5);
      if (fabs(m) >= V_INT_LIMIT) {
        break;
      }
      if (m / scale[k] == d) {
        return 1;
      }
    }
  }
  snprintf(text, sizeof text, V_WIRE_FMT, d);
  if (strtod(text, NULL) != d) {
    return 0;
  }
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    /* d >= -2^63 (it is a converted lua_Integer); 2^63 itself is out of
     * range for the conversion back. */
    return d < 9223372036854775808.0 && (lua_Integer)d == lua_tointeger(L, idx);
  }
#else
  (void)L;
  (void)idx;
#endif
  return 1;
}

void v_get(vctx *ctx, int idx, const char *name) {
  if (ctx->obj && idx == ctx->obj_idx) {
    const vfield *f = find_named(ctx->obj, name);
    long i = f ? f - ctx->obj->fields : 64;
    if (i < 64) {
      if ((ctx->seen >> i) & 1u) {
        lua_pushvalue(ctx->L, ctx->vals[i]);
      } else {
        lua_pushnil(ctx->L);
      }
      return;
    }
  }
  lua_pushstring(ctx->L, name);
  lua_rawget(ctx->L, idx);
}

int v_has(vctx *ctx, int idx, const char *name) {
  int present;
  /* Inside an object's rules, its known fields were seen already. */
  if (ctx->obj && idx == ctx->obj_idx) {
    const vfield *f = find_named(ctx->obj, name);
    if (f && f - ctx->obj->fields < 64) {
      return (int)((ctx->seen >> (f - ctx->obj->fields)) & 1u);
    }
  }
  lua_pushstring(ctx->L, name);
  lua_rawget(ctx->L, idx);
  present = !lua_isnil(ctx->L, -1);
  lua_pop(ctx->L, 1);
  return present;
}

int v_is(vctx *ctx, int idx, const char *name, int luatype) {
  int t;
  lua_pushstring(ctx->L, name);
  lua_rawget(ctx->L, idx);
  t = lua_type(ctx->L, -1);
  lua_pop(ctx->L, 1);
  return t == luatype;
}

/* Counts code points and checks UTF-8 in one pass (JSON Schema lengths are
 * in characters). Returns -1 for invalid UTF-8, -2 for a NUL byte. */
static long utf8_length(const unsigned char *s, size_t len) {
  long count = 0;
  size_t i = 0;
  while (i < len) {
    unsigned char c;
    /* Eight ASCII bytes at a time, none of them NUL. */
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) ||
          ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
        break;
      }
      i += 8;
      count += 8;
    }
    if (i >= len) {
      break;
    }
    c = s[i];
    size_t n;
    unsigned long cp;
    if (c < 0x80) {
      if (c == 0) {
        return -2;
      }
      i++;
      count++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + n >= len) {
      return -1;
    }
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return -1;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return -1;
    }
    i += n + 1;
    count++;
  }
  return count;
}

/* Optimal string alignment distance, case-insensitive, for "did you mean". */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb) {
  size_t d[NAME_SHOWN + 2][NAME_SHOWN + 2];
  if (la > NAME_SHOWN || lb > NAME_SHOWN) {
    return (size_t)-1;
  }
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      char ca = (char)(a[i - 1] | 0x20), cb = (char)(b[j - 1] | 0x20);
      size_t cost = (ca == cb) ? 0 : 1;
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
          (a[i - 2] | 0x20) == (b[j - 1] | 0x20) && d[i - 2][j - 2] + 1 < best) {
        best = d[i - 2][j - 2] + 1;
      }
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

static const char *suggest(const vobject *obj, const char *name, size_t len) {
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  size_t limit = len / 3;
  if (limit < 2) limit = 2;
  for (const vfield *f = obj->fields; f->name; f++) {
    size_t d = edit_distance(name, len, f->name, strlen(f->name));
    if (d < best_d) {
      best_d = d;
      best = f->name;
    }
  }
  return best_d <= limit ? best : NULL;
}

static void shown_name(char *buf, size_t size, const char *s, size_t len) {
  size_t n = len < NAME_SHOWN ? len : NAME_SHOWN;
  size_t j = 0;
  for (size_t i = 0; i < n && j + 5 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
    } else {
      buf[j++] = (char)c;
    }
  }
  if (len > n && j + 4 < size) {
    memcpy(buf + j, "...", 3);
    j += 3;
  }
  buf[j] = '\0';
}

/* ---- table shapes ----------------------------------------------------- */

static int enter_table(vctx *ctx, int idx) {
  const void *p = lua_topointer(ctx->L, idx);
  for (int i = 0; i < ctx->depth; i++) {
    if (ctx->open_tables[i] == p) {
      v_error(ctx, "refers to a table that contains it (a cycle): JSON cannot carry it");
      return 0;
    }
  }
  if (ctx->depth >= V_MAX_DEPTH) {
    v_error(ctx, "is nested too deeply (more than %d levels)", V_MAX_DEPTH);
    return 0;
  }
  luaL_checkstack(ctx->L, 8, "validator");
  ctx->open_tables[ctx->depth++] = p;
  return 1;
}

static void leave_table(vctx *ctx) {
  ctx->depth--;
}

/* Counts a value and len bytes of its text against the walk's bounds; 0
 * once they are passed, which is reported once. */
static int charge_len(vctx *ctx, size_t len) {
  if (ctx->values > V_MAX_VALUES || ctx->bytes > V_MAX_BYTES) {
    return 0;
  }
  ctx->values++;
  ctx->bytes += len;
  if (ctx->values > V_MAX_VALUES || ctx->bytes > V_MAX_BYTES) {
    v_error(ctx, "makes the request too large to send (more than %ld values or %lu MiB "
                 "of text; a table used in several places counts each time)",
            V_MAX_VALUES, V_MAX_BYTES >> 20);
    return 0;
  }
  return 1;
}

static int charge(vctx *ctx, int idx) {
  return charge_len(ctx, lua_type(ctx->L, idx) == LUA_TSTRING ? lua_rawlen(ctx->L, idx) : 0);
}

/* An integer-valued key >= 1, as a sequence index. */
static long seq_key(lua_State *L, int idx) {
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER) {
    return 0;
  }
  d = lua_tonumber(L, idx);
  if (d >= 1 && d <= 1e15 && d == floor(d)) {
    return (long)d;
  }
  return 0;
}

/* Checks that the table at idx is a proper sequence 1..n and returns n,
 * or -1 after reporting what is wrong with it. */
static long sequence_length(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  long count = 0, max = 0, named = 0, odd = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    long k = seq_key(L, -2);
    lua_pop(L, 1);
    count++;
    if (k > 0) {
      if (k > max) max = k;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      named++;
    } else {
      odd++;
    }
  }
  if (named > 0 && named == count) {
    v_error(ctx, "must be a list (a Lua array), got a table of named fields");
    return -1;
  }
  if (named > 0 || odd > 0) {
    v_error(ctx, "must be a list (a Lua array), got a table that mixes list items "
                 "and other keys");
    return -1;
  }
  if (max != count) {
    v_error(ctx, "is a list with holes (%ld items, highest index %ld): "
                 "nil cannot be inside a list", count, max);
    return -1;
  }
  return count;
}

/* ---- values ----------------------------------------------------------- */

static void check_json(vctx *ctx, int idx);
static void check_string_bytes(vctx *ctx, const char *s, size_t len, long *chars);

static void check_json_table(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  int has_named = 0, has_seq = 0;
  if (!enter_table(ctx, idx)) {
    return;
  }
  /* Decide array or object first, the way lua-cjson will. */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      has_named = 1;
    } else {
      has_seq = 1;
    }
  }
  if (has_seq && !has_named) {
    long n = sequence_length(ctx, idx);
    for (long i = 1; i <= n; i++) {
      int old = v_path_push_index(ctx, i);
      lua_rawgeti(L, idx, (int)i);
      check_json(ctx, lua_gettop(L));
      lua_pop(L, 1);
      v_path_pop(ctx, old);
    }
  } else if (has_seq) {
    v_error(ctx, "mixes list items and named keys: JSON needs one or the other");
  } else {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      size_t len;
      const char *key = lua_tolstring(L, -2, &len);
      int old = path_push_lstr(ctx, key, len);
      check_string_bytes(ctx, key, len, NULL);
      ctx->bytes += len;
      check_json(ctx, lua_gettop(L));
      v_path_pop(ctx, old);
      lua_pop(L, 1);
    }
  }
  leave_table(ctx);
}

static void check_string_bytes(vctx *ctx, const char *s, size_t len, long *chars) {
  long n = utf8_length((const unsigned char *)s, len);
  if (n == -1) {
    v_error(ctx, "is not valid UTF-8");
  } else if (n == -2) {
    v_error(ctx, "contains a NUL byte");
  }
  if (chars) {
    *chars = n;
  }
}

/* A finite number that lua-cjson would round: the problem shows it as given
 * and as it would go out, and what to send instead. In a free-form value a
 * string carries any number; a field of the API's takes a number. */
static void inexact_error(vctx *ctx, int idx, double d, int free_form) {
  char given[48], sent[32];
  const char *advice;
  if (errors_full(ctx)) {
    ctx->nerr++;
    return;
  }
  fmt_value(given, sizeof given, ctx->L, idx, d);
  snprintf(sent, sizeof sent, V_WIRE_FMT, d);
  if (!free_form) {
    advice = "round it to 14 significant digits";
  } else if (d == floor(d)) {
    advice = "send it as a string";
  } else {
    advice = "send it as a string, or round it to 14 significant digits";
  }
  v_error(ctx, "cannot be sent exactly: JSON numbers are written with 14 significant "
               "digits, so %s would be sent as %s; %s", given, sent, advice);
}

static void check_json(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  if (!charge(ctx, idx)) {
    return;
  }
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *str = lua_tolstring(L, idx, &len);
      check_string_bytes(ctx, str, len, NULL);
      break;
    }
    case LUA_TNUMBER: {
      double d = lua_tonumber(L, idx);
      if (d != d || isinf(d)) {
        v_error(ctx, "must be a finite number (got %s)", type_name(L, idx));
      } else if (ctx->cjson_numbers && !number_exact(L, idx, d)) {
        inexact_error(ctx, idx, d, 1);
      }
      break;
    }
    case LUA_TBOOLEAN:
      break;
    case LUA_TTABLE:
      check_json_table(ctx, idx);
      break;
    default:
      if (!is_null(L, idx)) {
        v_error(ctx, "cannot be sent as JSON (got %s)", type_name(L, idx));
      }
  }
}

static int in_enum(const char *const *enums, const char *s) {
  for (; *enums; enums++) {
    if (strcmp(*enums, s) == 0) {
      return 1;
    }
  }
  return 0;
}

static void enum_error(vctx *ctx, const char *const *enums, const char *s, size_t len) {
  char list[MSG_MAX / 2], shown[NAME_SHOWN * 4 + 8];
  size_t j = 0;
  if (errors_full(ctx)) {
    ctx->nerr++;
    return;
  }
  for (; *enums && j + 1 < sizeof list; enums++) {
    int n = snprintf(list + j, sizeof list - j, "%s\"%s\"", j ? ", " : "", *enums);
    if (n < 0) break;
    j += (size_t)n;
  }
  shown_name(shown, sizeof shown, s, len);
  v_error(ctx, "must be one of %s (got \"%s\")", list, shown);
}

static void check_string(vctx *ctx, const vfield *f, const char *s, size_t len) {
  long chars;
  check_string_bytes(ctx, s, len, &chars);
  if (chars < 0) {
    return;
  }
  if (f->enums) {
    if (!in_enum(f->enums, s) || strlen(s) != len) {
      enum_error(ctx, f->enums, s, len);
    }
    return;
  }
  if ((f->flags & VF_MIN) && chars < f->min) {
    if (f->min == 1) {
      v_error(ctx, "must not be empty");
    } else {
      v_error(ctx, "must be at least %.0f characters (got %ld)", f->min, chars);
    }
    return;
  }
  if ((f->flags & VF_MAX) && chars > f->max) {
    v_error(ctx, "must be at most %.0f characters (got %ld)", f->max, chars);
    return;
  }
  if (f->format && !f->format->check(s, len)) {
    v_error(ctx, "%s", f->format->message);
  }
}

static void check_number(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  double d = lua_tonumber(L, idx);
  char a[40], b[40];
  if (d != d || isinf(d)) {
    v_error(ctx, "must be a finite number (got %s)", type_name(L, idx));
    return;
  }
  if (f->type == VT_INTEGER && !lua_isinteger_compat(L, idx)) {
    if (d != floor(d)) {
      fmt_number(a, sizeof a, d);
      v_error(ctx, "must be an integer (got %s)", a);
      return;
    }
  }
  if (f->type == VT_INTEGER && fabs(d) >= V_INT_LIMIT) {
    fmt_value(a, sizeof a, L, idx, d);
    v_error(ctx, "is too large to send exactly: integers must be below 10^14 (got %s)", a);
    return;
  }
  if ((f->flags & VF_MIN) && d < f->min) {
    fmt_number(a, sizeof a, f->min);
    fmt_value(b, sizeof b, L, idx, d);
    if (f->flags & VF_MAX) {
      char c[40];
      fmt_number(c, sizeof c, f->max);
      v_error(ctx, "must be between %s and %s (got %s)", a, c, b);
    } else {
      v_error(ctx, "must be at least %s (got %s)", a, b);
    }
    return;
  }
  if ((f->flags & VF_MAX) && d > f->max) {
    fmt_number(a, sizeof a, f->max);
    fmt_value(b, sizeof b, L, idx, d);
    if (f->flags & VF_MIN) {
      char c[40];
      fmt_number(c, sizeof c, f->min);
      v_error(ctx, "must be between %s and %s (got %s)", c, a, b);
    } else {
      v_error(ctx, "must be at most %s (got %s)", a, b);
    }
    return;
  }
  if (ctx->cjson_numbers && !number_exact(L, idx, d)) {
    inexact_error(ctx, idx, d, 0);
  }
}

static void check_object(vctx *ctx, const vobject *obj, int idx);
static void check_value_t(vctx *ctx, const vfield *f, int idx, int t);

/* Lists this short are checked for duplicates by comparing items pairwise:
 * no table is made. */
#define V_UNIQUE_PAIRWISE 16

/* Whether item i (at stack index item) equals an earlier one. Strings and
 * numbers only: NaN was reported as not finite already. */
static int duplicate_item(lua_State *L, int idx, long i, int item, int set) {
  int t = lua_type(L, item);
  int dup = 0;
  if (t != LUA_TSTRING && !(t == LUA_TNUMBER && lua_tonumber(L, item) == lua_tonumber(L, item))) {
    return 0;
  }
  if (!set) {
    for (long k = 1; k < i && !dup; k++) {
      lua_rawgeti(L, idx, (int)k);
      dup = lua_rawequal(L, -1, item);
      lua_pop(L, 1);
    }
    return dup;
  }
  lua_pushvalue(L, item);
  lua_rawget(L, set);
  dup = !lua_isnil(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, item);
  lua_pushboolean(L, 1);
  lua_rawset(L, set);
  return dup;
}

static void check_array(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  long n;
  int set = 0, item;
  if (!enter_table(ctx, idx)) {
    return;
  }
  n = sequence_length(ctx, idx);
  if (n < 0) {
    leave_table(ctx);
    return;
  }
  if (n == 0) {
    v_error(ctx, "is empty: leave the field out instead (an empty Lua table "
                 "would be sent as {}, not [])");
    leave_table(ctx);
    return;
  }
  if ((f->flags & VF_MIN) && n < f->min) {
    v_error(ctx, "must have at least %.0f items (got %ld)", f->min, n);
  }
  if ((f->flags & VF_MAX) && n > f->max) {
    v_error(ctx, "must have at most %.0f items (got %ld)", f->max, n);
  }
  if ((f->flags & VF_UNIQUE) && n > V_UNIQUE_PAIRWISE) {
    lua_newtable(L);
    set = lua_gettop(L);
  }
  item = lua_gettop(L) + 1;
  for (long i = 1; i <= n; i++) {
    int old = v_path_push_index(ctx, i);
    int t = lua_rawgeti_compat(L, idx, (int)i);
    if (f->items) {
      check_value_t(ctx, f->items, item, t);
    } else {
      check_json(ctx, item);
    }
    if ((f->flags & VF_UNIQUE) && duplicate_item(L, idx, i, item, set)) {
      v_error(ctx, "is a duplicate: items must be distinct");
    }
    lua_pop(L, 1);
    v_path_pop(ctx, old);
  }
  if (set) {
    lua_pop(L, 1);
  }
  leave_table(ctx);
}

static void check_map(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  if (!enter_table(ctx, idx)) {
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      v_error(ctx, "must have only string keys (got a %s key)", luaL_typename(L, -2));
      lua_pop(L, 2);
      break;
    } else {
      size_t len;
      const char *key = lua_tolstring(L, -2, &len);
      int old = path_push_lstr(ctx, key, len);
      check_string_bytes(ctx, key, len, NULL);
      ctx->bytes += len;
      if (f->items) {
        v_check_value(ctx, f->items, lua_gettop(L));
      } else {
        check_json(ctx, lua_gettop(L));
      }
      v_path_pop(ctx, old);
    }
    lua_pop(L, 1);
  }
  leave_table(ctx);
}

/* The Lua type each field type takes (LUA_TNONE: any). */
static int lua_type_of(int type) {
  switch (type) {
    case VT_STRING: return LUA_TSTRING;
    case VT_INTEGER:
    case VT_NUMBER: return LUA_TNUMBER;
    case VT_BOOLEAN: return LUA_TBOOLEAN;
    case VT_OBJECT:
    case VT_ARRAY:
    case VT_MAP: return LUA_TTABLE;
    default: return LUA_TNONE;
  }
}

/* v_check_value for a value whose Lua type t the caller has read. */
static void check_value_t(vctx *ctx, const vfield *f, int idx, int t) {
  lua_State *L = ctx->L;
  int want = lua_type_of(f->type);
  if (f->type == VT_FORBIDDEN) {
    if (charge(ctx, idx)) {
      v_error(ctx, "%s", f->note ? f->note : "is not accepted here");
    }
    return;
  }
  if (want != LUA_TNONE && t != want) {
    if (charge(ctx, idx)) {
      v_error(ctx, "must be %s (got %s)", expect_name(f->type), type_name(L, idx));
    }
    return;
  }
  switch (f->type) {
    case VT_STRING: {
      size_t len;
      const char *str = lua_tolstring(L, idx, &len);
      if (charge_len(ctx, len)) {
        check_string(ctx, f, str, len);
      }
      break;
    }
    case VT_INTEGER:
    case VT_NUMBER:
      if (charge_len(ctx, 0)) {
        check_number(ctx, f, idx);
      }
      break;
    case VT_BOOLEAN:
      charge_len(ctx, 0);
      break;
    case VT_OBJECT:
      if (charge_len(ctx, 0) && enter_table(ctx, idx)) {
        check_object(ctx, f->object, idx);
        leave_table(ctx);
      }
      break;
    case VT_ARRAY:
      if (charge_len(ctx, 0)) {
        check_array(ctx, f, idx);
      }
      break;
    case VT_MAP:
      if (charge_len(ctx, 0)) {
        check_map(ctx, f, idx);
      }
      break;
    default:
      check_json(ctx, idx);   /* VT_JSON: charges itself */
      break;
  }
}

void v_check_value(vctx *ctx, const vfield *f, int idx) {
  check_value_t(ctx, f, idx, lua_type(ctx->L, idx));
}

static void check_object(vctx *ctx, const vobject *obj, int idx) {
  lua_State *L = ctx->L;
  int bad_keys = 0;
  int base = lua_gettop(L);
  int keep = obj->rules != NULL;   /* the rules read the values kept */
  int top = base + 1;              /* where the key is, below the value */
  unsigned long long seen = 0;
  int vals[64];
  if (keep) {
    luaL_checkstack(L, 64 + 8, "validator");
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int value = top + 1;
    int kept = 0;
    if (lua_type(L, top) != LUA_TSTRING) {
      bad_keys++;
    } else {
      size_t len;
      const char *key = lua_tolstring(L, top, &len);
      const vfield *f = find_field(obj, key, len);
      int old = path_push_lstr(ctx, key, len);
      if (f) {
        long i = f - obj->fields;
        check_value_t(ctx, f, value, lua_type(L, value));
        if (i < 64) {
          seen |= 1ull << i;
          if (keep) {
            /* Kept below the key so that the rules can read it for free. */
            lua_insert(L, top);
            vals[i] = top;
            top++;
            kept = 1;
          }
        }
      } else if (obj->open || ctx->passthrough) {
        check_string_bytes(ctx, key, len, NULL);
        ctx->bytes += len;
        check_json(ctx, value);
      } else if (errors_full(ctx)) {
        ctx->nerr++;   /* a suggestion costs an edit distance per known field */
      } else {
        char shown[NAME_SHOWN * 4 + 8];
        const char *hint = suggest(obj, key, len);
        shown_name(shown, sizeof shown, key, len);
        if (hint) {
          v_error(ctx, "unknown field \"%s\"; did you mean \"%s\"?", shown, hint);
        } else {
          v_error(ctx, "unknown field \"%s\"", shown);
        }
      }
      v_path_pop(ctx, old);
    }
    if (!kept) {
      lua_pop(L, 1);
    }
  }
  if (bad_keys) {
    v_error(ctx, "must be a table of named fields (found %d key%s that %s not strings: "
                 "a list was given where an object was expected?)",
            bad_keys, bad_keys == 1 ? "" : "s", bad_keys == 1 ? "is" : "are");
    lua_settop(L, base);
    return;
  }
  for (const vfield *f = obj->fields; f->name; f++) {
    if ((f->flags & VF_REQUIRED) &&
        (f - obj->fields < 64 ? !((seen >> (f - obj->fields)) & 1u) : !v_has(ctx, idx, f->name))) {
      v_error_at(ctx, f->name, "is required");
    }
  }
  if (obj->rules) {
    const vobject *outer = ctx->obj;
    int outer_idx = ctx->obj_idx;
    unsigned long long outer_seen = ctx->seen;
    const int *outer_vals = ctx->vals;
    ctx->obj = obj;
    ctx->obj_idx = idx;
    ctx->seen = seen;
    ctx->vals = vals;
    obj->rules(ctx, idx);
    ctx->obj = outer;
    ctx->obj_idx = outer_idx;
    ctx->seen = outer_seen;
    ctx->vals = outer_vals;
  }
  lua_settop(L, base);
}

/* ---- entry points ----------------------------------------------------- */

void v_init(vctx *ctx, lua_State *L, int errors_idx, int passthrough) {
  /* Everything but the stacks, which are large and filled as used. */
  memset(ctx, 0, offsetof(vctx, steps));
  ctx->L = L;
  ctx->errors = errors_idx;
  ctx->max_errors = 100;
  ctx->passthrough = passthrough;
}

void v_check_root(vctx *ctx, const vschema *schema, int idx) {
  lua_State *L = ctx->L;
  if (!lua_istable(L, idx)) {
    v_error(ctx, "fields must be a table (got %s)", type_name(L, idx));
    return;
  }
  if (schema->nonempty) {
    lua_pushnil(L);
    if (!lua_next(L, idx)) {
      v_error(ctx, "no fields given: there is nothing to send");
      return;
    }
    lua_pop(L, 2);
  }
  if (enter_table(ctx, idx)) {
    check_object(ctx, schema->root, idx);
    leave_table(ctx);
  }
  if (ctx->nerr > ctx->max_errors) {
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "field");
    lua_pushfstring(L, "and %d more problems", ctx->nerr - ctx->max_errors);
    lua_setfield(L, -2, "message");
    lua_rawseti(L, ctx->errors, ctx->max_errors + 1);
  }
}

/* ---- formats ---------------------------------------------------------- */

static int check_e164(const char *s, size_t len) {
  if (len < 3 || len > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') {
    return 0;
  }
  for (size_t i = 2; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return 0;
    }
  }
  return 1;
}

const vformat V_E164 = {check_e164, "must be E.164, e.g. +14155551234"};

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 29;
  }
  return days[m - 1];
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static long days_from_civil(int y, int m, int d) {
  long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

/* RFC 3339 date-time (the JSON Schema "date-time" format): a date, "T",
 * a time with optional fraction, and a zone ("Z" or +hh:mm). */
int v_parse_datetime(const char *s, size_t len, double *epoch) {
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
  size_t i = 19;
  double frac = 0;
  if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
      s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
      !digits(s + 17, 2, &sec)) {
    return 0;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 60) {
    return 0;
  }
  if (s[i] == '.') {
    double scale = 0.1;
    size_t start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == start) {
      return 0;
    }
  }
  if (i == len - 1 && (s[i] == 'Z' || s[i] == 'z')) {
    sign = 0;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2, &oh) &&
             s[i + 3] == ':' && digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
    sign = s[i] == '+' ? 1 : -1;
  } else {
    return 0;
  }
  if (epoch) {
    *epoch = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec +
             frac - sign * (oh * 3600.0 + om * 60.0);
  }
  return 1;
}

static int check_datetime(const char *s, size_t len) {
  return v_parse_datetime(s, len, NULL);
}

const vformat V_DATETIME = {
    check_datetime,
    "must be an ISO 8601 date-time with a time zone, e.g. 2026-05-14T09:00:00Z"};

static int check_http_url(const char *s, size_t len) {
  size_t skip;
  if (len > 7 && strncmp(s, "http://", 7) == 0) {
    skip = 7;
  } else if (len > 8 && strncmp(s, "https://", 8) == 0) {
    skip = 8;
  } else {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) {
      return 0;
    }
  }
  return s[skip] != '/' && s[skip] != '?' && s[skip] != '#';
}

const vformat V_HTTP_URL = {check_http_url, "must be an http:// or https:// URL"};

/* ---- IANA time zone names (shared: Autocalls timezone, Atlas Timezone) --
 * A name is accepted when it is a safe relative path (letters, digits and
 * _ + - in components that start with a letter, joined by single "/") and
 * names a TZif file in the system's zoneinfo database ($TZDIR, else
 * /usr/share/zoneinfo, Debian's tzdata). On a host without that database
 * only the shape is checked. */

#define TZ_NAME_MAX 64

static int tz_name_shape(const char *s, size_t len) {
  int start = 1;
  if (len == 0 || len > TZ_NAME_MAX) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (start && !letter) {
      return 0;               /* empty component, leading "/", "..", "-x" */
    }
    if (c == '/') {
      start = 1;
      continue;
    }
    if (!letter && !(c >= '0' && c <= '9') && c != '_' && c != '+' && c != '-') {
      return 0;
    }
    start = 0;
  }
  return !start;              /* no trailing "/" */
}

/* Files in the database that are not zone names. */
static int tz_not_a_zone(const char *s, size_t len) {
  return (len == 9 && memcmp(s, "localtime", 9) == 0) ||
         (len == 10 && memcmp(s, "posixrules", 10) == 0) ||
         (len > 6 && memcmp(s, "posix/", 6) == 0) ||
         (len > 6 && memcmp(s, "right/", 6) == 0);
}

/* Names found in the database lately, so that a script creating many
 * campaigns does not read the disk for each. Per thread: hosts may run Lua
 * states in several threads. */
#define TZ_CACHE 8
static __thread char tz_cache[TZ_CACHE][TZ_NAME_MAX + 1];
static __thread unsigned tz_cache_next;

static int check_iana_tz_file(const char *s, size_t len);

static int check_iana_tz(const char *s, size_t len) {
  if (!tz_name_shape(s, len) || strlen(s) != len || tz_not_a_zone(s, len)) {
    return 0;
  }
  for (int i = 0; i < TZ_CACHE; i++) {
    if (memcmp(tz_cache[i], s, len) == 0 && tz_cache[i][len] == '\0') {
      return 1;
    }
  }
  if (!check_iana_tz_file(s, len)) {
    return 0;
  }
  memcpy(tz_cache[tz_cache_next], s, len);
  tz_cache[tz_cache_next][len] = '\0';
  tz_cache_next = (tz_cache_next + 1) % TZ_CACHE;
  return 1;
}

static int check_iana_tz_file(const char *s, size_t len) {
  const char *dir = getenv("TZDIR");
  char path[512];
  struct stat st;
  char magic[4];
  FILE *f;
  size_t got;
  (void)len;
  if (!dir || dir[0] != '/') {
    dir = "/usr/share/zoneinfo";
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return 1;                 /* no database here: the shape is all we can check */
  }
  if (snprintf(path, sizeof path, "%s/%s", dir, s) >= (int)sizeof path) {
    return 0;
  }
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    return 0;
  }
  f = fopen(path, "rb");
  if (!f) {
    return 0;
  }
  got = fread(magic, 1, sizeof magic, f);
  fclose(f);
  return got == sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

const vformat V_IANA_TZ = {check_iana_tz,
                           "must be an IANA time zone name, e.g. America/New_York or "
                           "Europe/London"};
