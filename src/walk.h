/* Internal to the validator's files: what they share beyond validate.h,
 * which is for provider files. validate.c walks a table against a schema;
 * json.c checks free-form JSON and keeps the walk's bounds; numbers.c
 * checks numbers; report.c keeps the path and reports problems. */
#ifndef CAMPAIGN_WALK_H
#define CAMPAIGN_WALK_H

#include "validate.h"

#pragma GCC visibility push(hidden)

#define MSG_MAX 480

/* ---- report.c */

/* Pushes a step of len bytes (name need not end there). */
int v_path_push_lstr(vctx *ctx, const char *name, size_t len);

/* Whether the list of problems is full: the next ones are only counted,
 * so nothing is worth working out for their messages. */
static inline int v_errors_full(const vctx *ctx) {
  return ctx->nerr >= ctx->max_errors;
}

/* ---- json.c */

/* The type of the value at idx for a message ("null", "NaN", "infinity",
 * else Lua's name). */
const char *v_type_name(lua_State *L, int idx);

/* Enters the table at idx: 0 (reported) for a cycle or too deep a nesting.
 * Each 1 is matched by a v_leave_table. */
int v_enter_table(vctx *ctx, int idx);
static inline void v_leave_table(vctx *ctx) {
  ctx->depth--;
}

/* Counts a value (with len bytes of text; v_charge: the value at idx)
 * against the walk's bounds: 0 once they are passed, reported once. */
int v_charge_len(vctx *ctx, size_t len);
int v_charge(vctx *ctx, int idx);

/* The length n of the proper sequence 1..n at idx, or -1 (reported). */
long v_sequence_length(vctx *ctx, int idx);

/* Any JSON value at idx (charges itself). */
void v_check_json(vctx *ctx, int idx);

/* Reports invalid UTF-8 or a NUL byte; *chars (when not NULL) gets the
 * length in characters, or a negative number for either. */
void v_check_string_bytes(vctx *ctx, const char *s, size_t len, long *chars);

/* ---- numbers.c */

/* A number field (the value at idx is a number), and a number in
 * free-form JSON. */
void v_check_number(vctx *ctx, const vfield *f, int idx);
void v_check_json_number(vctx *ctx, int idx);

#pragma GCC visibility pop

#endif
