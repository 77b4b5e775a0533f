/* Numbers: how a field's number is checked against its bounds, and how
 * numbers read in messages. Every finite number is sent exactly (write.c
 * writes it); NaN and the infinities have no JSON. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "walk.h"

/* The providers' integer fields take integers below 10^14. */
#define V_INT_LIMIT 1e14

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

void v_check_json_number(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  double d = lua_tonumber(L, idx);
  if (d != d || isinf(d)) {
    v_error(ctx, "must be a finite number (got %s)", v_type_name(L, idx));
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
}
