/* What to suggest for a value a rule refused, and the messages that quote
 * it (hints.h). */
#include <string.h>

#include "formats.h"
#include "hints.h"
#include "text.h"
#include "walk.h"

/* ---- phone numbers ------------------------------------------------------- */

size_t hint_without_separators(const char *s, size_t len, char *out, size_t size) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
      continue;
    }
    if (n + 1 >= size) {
      return 0;
    }
    out[n++] = c;
  }
  if (size > 0) {
    out[n] = '\0';
  }
  return n;
}

#define E164_EXPLAINED ": + then the country code and number, digits only, up to 15 digits"

void hint_e164_error(vctx *ctx, const char *s, size_t len, const char *advice) {
  char shown[NAME_SHOWN * 4 + 8], plain[24];
  size_t n;
  if (v_errors_full(ctx)) {
    ctx->nerr++;
    return;
  }
  text_shown_name(shown, sizeof shown, s, len);
  if (advice) {
    v_error(ctx, "\"%s\" %s%s", shown, V_E164.message, advice);
    return;
  }
  n = hint_without_separators(s, len, plain, sizeof plain);
  if (n > 0 && V_E164.check(plain, n)) {
    v_error(ctx, "\"%s\" %s" E164_EXPLAINED "; did you mean \"%s\"?", shown, V_E164.message,
            plain);
  } else {
    v_error(ctx, "\"%s\" %s" E164_EXPLAINED, shown, V_E164.message);
  }
}

/* ---- formats ------------------------------------------------------------- */

void hint_format_error(vctx *ctx, const vformat *format, const char *s, size_t len) {
  if (format == &V_E164) {
    hint_e164_error(ctx, s, len, NULL);
    return;
  }
  v_error(ctx, "%s", format->message);
}
