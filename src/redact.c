/* core.redact: a secret taken out of a text, as written and as a provider
 * may have escaped it (JSON's escapes, percent escapes, both, nested). */
#define _GNU_SOURCE   /* memmem */
#include <stdint.h>
#include <string.h>

#include "core.h"

/* The hex value of c, or -1. */
static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at s (left bytes available), or -1. */
static long hex4(const char *s, size_t left) {
  long v = 0;
  if (left < 4) return -1;
  for (int j = 0; j < 4; j++) {
    int h = hexval((unsigned char)s[j]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static size_t put_utf8(long cp, unsigned char out[4]) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The escapes a text may hide a key behind: JSON's, and percent escapes. */
#define ESC_JSON 1
#define ESC_PERCENT 2

/* One unit of the text s (n bytes) at i, as a provider may have escaped the
 * key in it: a JSON escape (\" \\ \/ \b \f \n \r \t, \uXXXX, surrogate pairs
 * as one code point; code points written as UTF-8; and \xNN, which is how
 * this module's messages quote a byte), a percent escape (%XX), or a plain
 * byte; kinds says which escapes are read. Writes the bytes the unit stands
 * for to out and returns their number; *used is the unit's length in s. */
static size_t text_unit(const char *s, size_t i, size_t n, int kinds, unsigned char out[4],
                        size_t *used) {
  static const char names[] = "\"\\/bfnrt", plain[] = "\"\\/\b\f\n\r\t";
  unsigned char c = (unsigned char)s[i];
  *used = 1;
  if ((kinds & ESC_PERCENT) && c == '%' && n - i >= 3 && hexval((unsigned char)s[i + 1]) >= 0 &&
      hexval((unsigned char)s[i + 2]) >= 0) {
    out[0] = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
    *used = 3;
    return 1;
  }
  if ((kinds & ESC_JSON) && c == '\\' && n - i >= 2) {
    const char *simple = s[i + 1] ? strchr(names, s[i + 1]) : NULL;
    if (simple) {
      out[0] = (unsigned char)plain[simple - names];
      *used = 2;
      return 1;
    }
    /* \xNN: how the validator's messages show a byte of a value they
     * quote that is a control byte or not UTF-8 (text.h). */
    if (s[i + 1] == 'x' && n - i >= 4 && hexval((unsigned char)s[i + 2]) >= 0 &&
        hexval((unsigned char)s[i + 3]) >= 0) {
      out[0] = (unsigned char)(hexval((unsigned char)s[i + 2]) * 16 +
                               hexval((unsigned char)s[i + 3]));
      *used = 4;
      return 1;
    }
    if (s[i + 1] == 'u') {
      long cp = hex4(s + i + 2, n - i - 2);
      if (cp >= 0) {
        *used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u') {
          long lo = hex4(s + i + 8, n - i - 8);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            *used = 12;
          }
        }
        return put_utf8(cp, out);
      }
    }
  }
  out[0] = c;
  return 1;
}

/* Escapes within escapes are decoded this many times over: a JSON text
 * quoted inside another ({"detail": "{\"key\": \"\\u0053...\"}"}), a
 * percent escape of a percent escape. */
#define REDACT_LEVELS 8

/* One decoding of in (n bytes) into out: every unit text_unit reads. With
 * maps, out byte j comes from the bytes [start[j], end[j]) of the original
 * text (in's own maps say where in's bytes came from; NULL for the original
 * itself). Returns the length of out; *changed is whether any escape was
 * decoded. */
static size_t decode_once(const char *in, size_t n, int kinds, char *out,
                          const uint32_t *in_start, const uint32_t *in_end, uint32_t *start,
                          uint32_t *end, int *changed) {
  size_t len = 0, used;
  *changed = 0;
  for (size_t i = 0; i < n; i += used) {
    unsigned char bytes[4];
    size_t k;
    if (!start) {
      /* Only looking: a run without escapes is copied whole. */
      size_t j = i;
      while (j < n && in[j] != '\\' && in[j] != '%') j++;
      if (j > i) {
        memcpy(out + len, in + i, j - i);
        len += j - i;
        used = j - i;
        continue;
      }
    }
    k = text_unit(in, i, n, kinds, bytes, &used);
    if (used > 1) *changed = 1;
    for (size_t j = 0; j < k; j++) {
      out[len + j] = (char)bytes[j];
      if (start) {
        start[len + j] = in_start ? in_start[i] : (uint32_t)i;
        end[len + j] = in_end ? in_end[i + used - 1] : (uint32_t)(i + used);
      }
    }
    len += k;
  }
  return len;
}

/* Marks in mask the bytes of the original text that the occurrences of key
 * in text (n bytes, mapped by start/end; NULL: text is the original) come
 * from. Returns whether there was any. */
static int mark_key(const char *text, size_t n, const char *key, size_t klen,
                    const uint32_t *start, const uint32_t *end, char *mask) {
  size_t pos = 0;
  int found = 0;
  while (n - pos >= klen) {
    const char *hit = memmem(text + pos, n - pos, key, klen);
    size_t a, from, to;
    if (!hit) break;
    a = (size_t)(hit - text);
    found = 1;
    if (!mask) break;
    from = start ? start[a] : a;
    to = end ? end[a + klen - 1] : a + klen;
    memset(mask + from, 1, to - from);
    pos = a + klen;
  }
  return found;
}

/* Scratch space for the decoded levels of a text of len bytes, and the maps
 * back to it (NULL when only looking). */
typedef struct levels {
  char *a, *b;
  uint32_t *start_a, *end_a, *start_b, *end_b;
} levels;

/* Decodes s over and over with the escapes of kinds (up to REDACT_LEVELS
 * times, while anything changes), looking for key in each level. With a
 * mask (and the maps of lv), marks where in s each occurrence comes from;
 * without, stops at the first. Returns whether key was found. */
static int search_levels(const char *s, size_t len, const char *key, size_t klen, int kinds,
                         const levels *lv, char *mask) {
  const char *in = s;
  const uint32_t *in_start = NULL, *in_end = NULL;
  size_t n = len;
  int changed = 1, found = 0;
  for (int level = 0; level < REDACT_LEVELS && changed; level++) {
    int even = in != lv->a;
    char *out = even ? lv->a : lv->b;
    uint32_t *start = mask ? (even ? lv->start_a : lv->start_b) : NULL;
    uint32_t *end = mask ? (even ? lv->end_a : lv->end_b) : NULL;
    n = decode_once(in, n, kinds, out, in_start, in_end, start, end, &changed);
    if (changed && mark_key(out, n, key, klen, start, end, mask)) {
      found = 1;
      if (!mask) break;
    }
    in = out;
    in_start = start;
    in_end = end;
  }
  return found;
}

/* core.redact(s, secret, replacement) -> s with every occurrence of secret
 * replaced: as written, and as a provider may have escaped it. Three readings
 * are searched, each decoded again up to REDACT_LEVELS times: JSON's escapes
 * alone (\/, \uXXXX and the others, as lua-cjson reads them, and \xNN),
 * percent escapes alone (as a URL decoder reads them), and both in any mix;
 * one reading alone is not enough, since "%4f..." before a key is a percent
 * escape that eats its first character in the mixed reading, not in JSON's.
 * A run of text that is secret (or several secrets side by side) becomes one
 * replacement; s itself when the secret is not in it. A text too long to map
 * (4 GiB) becomes the replacement as a whole.
 * Linear in the length of s (memmem is glibc's two-way search): each level
 * is a decoded copy searched once. Where the secret shows nowhere (the
 * common case) that is all, in two copies of s; else the levels are made
 * again with maps back to s (19 bytes per byte of s in all) and the bytes
 * they cover are replaced. */
int core_redact(lua_State *L) {
  static const int readings[] = {ESC_JSON, ESC_PERCENT, ESC_JSON | ESC_PERCENT};
  size_t len, klen, rlen;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *key = luaL_checklstring(L, 2, &klen);
  const char *rep = luaL_checklstring(L, 3, &rlen);
  int found, escaped;
  char *mask;
  levels lv;
  luaL_Buffer buf;
  lua_settop(L, 3);
  if (klen == 0 || klen > len) {
    lua_settop(L, 1);
    return 1;
  }
  if (len > UINT32_MAX) {
    lua_settop(L, 3);
    return 1;
  }
  found = mark_key(s, len, key, klen, NULL, NULL, NULL);
  escaped = memchr(s, '\\', len) != NULL || memchr(s, '%', len) != NULL;
  if (!found && escaped) {
    memset(&lv, 0, sizeof lv);
    lv.a = lua_newuserdata(L, len);
    lv.b = lua_newuserdata(L, len);
    for (size_t r = 0; r < sizeof readings / sizeof readings[0] && !found; r++) {
      found = search_levels(s, len, key, klen, readings[r], &lv, NULL);
    }
    lua_settop(L, 3);
  }
  if (!found) {
    lua_settop(L, 1);
    return 1;
  }
  mask = lua_newuserdata(L, len);   /* 4 */
  memset(mask, 0, len);
  mark_key(s, len, key, klen, NULL, NULL, mask);
  if (escaped) {
    lv.a = lua_newuserdata(L, len);
    lv.b = lua_newuserdata(L, len);
    lv.start_a = lua_newuserdata(L, len * sizeof *lv.start_a);
    lv.end_a = lua_newuserdata(L, len * sizeof *lv.end_a);
    lv.start_b = lua_newuserdata(L, len * sizeof *lv.start_b);
    lv.end_b = lua_newuserdata(L, len * sizeof *lv.end_b);
    for (size_t r = 0; r < sizeof readings / sizeof readings[0]; r++) {
      search_levels(s, len, key, klen, readings[r], &lv, mask);
    }
    lua_settop(L, 4);
  }
  luaL_buffinit(L, &buf);
  for (size_t i = 0; i < len;) {
    size_t j = i;
    if (mask[i]) {
      while (j < len && mask[j]) j++;
      luaL_addlstring(&buf, rep, rlen);
    } else {
      while (j < len && !mask[j]) j++;
      luaL_addlstring(&buf, s + i, j - i);
    }
    i = j;
  }
  luaL_pushresult(&buf);
  return 1;
}
