/* Numbers: how a field's number is checked against its bounds, whether
 * lua-cjson sends a number exactly, and how numbers read in messages. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "walk.h"

/* lua-cjson (2.1.0) prints numbers with 14 significant digits ("%.14g", and
 * it takes no more than 14): integers with more digits than that, and most
 * fractions with more, would be rounded on the wire. */
#define V_INT_LIMIT 1e14
#define V_WIRE_FMT "%.14g"

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

/* A finite number that lua-cjson would round: the problem shows it as given
 * and as it would go out, and what to send instead. In a free-form value a
 * string carries any number; a field of the API's takes a number. */
static void inexact_error(vctx *ctx, int idx, double d, int free_form) {
  char given[48], sent[32];
  const char *advice;
  if (v_errors_full(ctx)) {
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

void v_check_json_number(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  double d = lua_tonumber(L, idx);
  if (d != d || isinf(d)) {
    v_error(ctx, "must be a finite number (got %s)", v_type_name(L, idx));
  } else if (ctx->cjson_numbers && !number_exact(L, idx, d)) {
    inexact_error(ctx, idx, d, 1);
  }
}

void v_check_number(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  double d = lua_tonumber(L, idx);
  char a[40], b[40];
  if (d != d || isinf(d)) {
    v_error(ctx, "must be a finite number (got %s)", v_type_name(L, idx));
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
