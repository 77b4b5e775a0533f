/* campaign.core: the module entry. It builds URLs with curl's URL parser and
 * opens the parts in other files: the schemas, the validating writer of
 * request bodies (encode.c), the libcurl transport (http.c), core.redact
 * (redact.c). The client object and the retry policy are in Lua. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"
#include "text.h"

#define CAMPAIGN_EXPORT __attribute__((visibility("default")))

CAMPAIGN_EXPORT int luaopen_campaign_core(lua_State *L);

/* core.suggest(name, candidates) -> the candidate nearest name, or nil.
 * The rule the validator suggests field names by ("unknown field ...; did
 * you mean ...?", text.h): optimal string alignment distance (a swap of two
 * neighbours is one edit), case-insensitive (bytes compared with bit 0x20
 * set, which folds ASCII letters), at most max(2, #name // 3) edits; of
 * equally near candidates the first in the list; a name or candidate longer
 * than 48 bytes is never near. candidates is a list (1..n, read raw) of
 * strings; an empty list gives nil. Raises when name is not a string or
 * candidates is not a list of strings. */
static int core_suggest(lua_State *L) {
  size_t len, n, best = 0;
  const char *name;
  suggestion sg;
  luaL_checktype(L, 1, LUA_TSTRING);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  name = lua_tolstring(L, 1, &len);
  n = lua_rawlen(L, 2);
  suggest_init(&sg, name, len);
  for (size_t i = 1; i <= n; i++) {
    size_t clen;
    const char *candidate;
    if (lua_rawgeti_compat(L, 2, (int)i) != LUA_TSTRING) {
      return luaL_argerror(L, 2, lua_pushfstring(L, "list of strings expected, got %s at index %d",
                                                 luaL_typename(L, -1), (int)i));
    }
    candidate = lua_tolstring(L, -1, &clen);
    if (suggest_try(&sg, candidate, clen)) {
      best = i;
    }
    lua_pop(L, 1);
  }
  if (best == 0 || !suggest_near(&sg)) {
    lua_pushnil(L);
    return 1;
  }
  lua_rawgeti(L, 2, (int)best);
  return 1;
}

/* A CURLU and the strings taken from it, owned by a userdata so that a Lua
 * error between allocation and release cannot leak them. */
typedef struct url_box {
  CURLU *u;
  char *out;
} url_box;

static int url_box_gc(lua_State *L) {
  url_box *b = lua_touserdata(L, 1);
  if (b->out) curl_free(b->out);
  if (b->u) curl_url_cleanup(b->u);
  b->out = NULL;
  b->u = NULL;
  return 0;
}

/* Pushes a new box with an empty CURLU. */
static url_box *url_box_new(lua_State *L) {
  url_box *b = lua_newuserdata(L, sizeof *b);
  b->u = NULL;
  b->out = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, url_box_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  b->u = curl_url();
  if (!b->u) {
    luaL_error(L, "campaign: out of memory");
  }
  return b;
}

/* core.url's failures: nil, and what went wrong with curl's reason. */
static int url_failure(lua_State *L, const char *what, CURLUcode rc) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s (%s)", what, curl_url_strerror(rc));
  return 2;
}

/* Appends path to the path of the URL in b (its trailing slashes dropped). */
static CURLUcode url_append_path(lua_State *L, url_box *b, const char *path) {
  CURLUcode rc;
  if (curl_url_get(b->u, CURLUPART_PATH, &b->out, 0) == CURLUE_OK && b->out) {
    size_t len = strlen(b->out);
    while (len > 0 && b->out[len - 1] == '/') len--;
    lua_pushlstring(L, b->out, len);
    curl_free(b->out);
    b->out = NULL;
  } else {
    lua_pushliteral(L, "");
  }
  lua_pushstring(L, path);
  lua_concat(L, 2);
  rc = curl_url_set(b->u, CURLUPART_PATH, lua_tostring(L, -1), 0);
  lua_pop(L, 1);
  return rc;
}

/* Appends the {name, value} pairs of the list at idx to the URL's query,
 * percent-encoded; raises for a pair that is not two strings. */
static CURLUcode url_append_query(lua_State *L, url_box *b, int idx) {
  int n = (int)lua_rawlen(L, idx);
  for (int i = 1; i <= n; i++) {
    CURLUcode rc;
    lua_rawgeti(L, idx, i);
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    /* Strings only: a number would be written with 14 digits. */
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      luaL_error(L, "campaign: query names and values must be strings");
    }
    lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
    rc = curl_url_set(b->u, CURLUPART_QUERY, lua_tostring(L, -1),
                      CURLU_APPENDQUERY | CURLU_URLENCODE);
    lua_pop(L, 4);
    if (rc != CURLUE_OK) {
      return rc;
    }
  }
  return CURLUE_OK;
}

/* core.url(base [, path [, query]]) -> url | nil, message
 * base is parsed by curl and must be http or https; path is appended to the
 * base path; query is a list of {name, value} pairs, percent-encoded. */
static int core_url(lua_State *L) {
  const char *base = luaL_checkstring(L, 1);
  const char *path = luaL_optstring(L, 2, "");
  url_box *b;
  char *part = NULL;
  CURLUcode rc;
  lua_settop(L, 3);
  b = url_box_new(L);
  rc = curl_url_set(b->u, CURLUPART_URL, base, 0);
  if (rc != CURLUE_OK) {
    return url_failure(L, "base_url is not a URL", rc);
  }
  curl_url_get(b->u, CURLUPART_SCHEME, &b->out, 0);
  if (!b->out || (strcmp(b->out, "http") != 0 && strcmp(b->out, "https") != 0)) {
    lua_pushnil(L);
    lua_pushliteral(L, "base_url must be an http:// or https:// URL");
    return 2;
  }
  curl_free(b->out);
  b->out = NULL;
  rc = url_append_path(L, b, path);
  if (rc != CURLUE_OK) {
    return url_failure(L, "path cannot be used in a URL", rc);
  }
  if (lua_istable(L, 3) && (rc = url_append_query(L, b, 3)) != CURLUE_OK) {
    return url_failure(L, "query cannot be encoded", rc);
  }
  rc = curl_url_get(b->u, CURLUPART_URL, &part, 0);
  if (rc != CURLUE_OK) {
    return url_failure(L, "URL cannot be built", rc);
  }
  b->out = part;
  lua_pushstring(L, part);
  return 1;
}

/* core.url_parts(url) -> {scheme, host, port, user, query, fragment}
 *                     | nil, message
 * What curl reads in url: the host it connects to (IPv4 numbers normalised,
 * IPv6 in brackets, lower case), and whether a user, a query or a fragment
 * is present (true; absent parts are nil). */
static int core_url_parts(lua_State *L) {
  static const struct {
    CURLUPart part;
    const char *name;
    int flag;   /* only whether it is there */
  } parts[] = {{CURLUPART_SCHEME, "scheme", 0}, {CURLUPART_HOST, "host", 0},
               {CURLUPART_PORT, "port", 0},     {CURLUPART_USER, "user", 1},
               {CURLUPART_PASSWORD, "user", 1}, {CURLUPART_OPTIONS, "user", 1},
               {CURLUPART_QUERY, "query", 1},   {CURLUPART_FRAGMENT, "fragment", 1}};
  const char *url = luaL_checkstring(L, 1);
  url_box *b;
  CURLUcode rc;
  lua_settop(L, 1);
  b = url_box_new(L);
  rc = curl_url_set(b->u, CURLUPART_URL, url, 0);
  if (rc != CURLUE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "not a URL (%s)", curl_url_strerror(rc));
    return 2;
  }
  lua_newtable(L);
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (curl_url_get(b->u, parts[i].part, &b->out, 0) == CURLUE_OK && b->out) {
      if (parts[i].flag) {
        lua_pushboolean(L, 1);
      } else {
        lua_pushstring(L, b->out);
      }
      lua_setfield(L, -2, parts[i].name);
      curl_free(b->out);
      b->out = NULL;
    }
  }
  return 1;
}

/* Ctrl-C during a batch: core.catch_interrupt(true) makes SIGINT only set a
 * flag, which the batch polls between transfers (core.interrupted()) to stop
 * sending and let what is under way complete; a second SIGINT has its old
 * effect again. The interpreter's own handler raises a Lua error at whatever
 * instruction runs next, which could drop transfers that had ended but were
 * not yet taken in. core.catch_interrupt(false) puts the old handler back. */
static volatile sig_atomic_t interrupted = 0;
static struct sigaction previous_sigint;
static int catching = 0;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
  /* The next one does what it did before. */
  sigaction(SIGINT, &previous_sigint, NULL);
}

static int core_catch_interrupt(lua_State *L) {
  int on = lua_toboolean(L, 1);
  if (on && !catching) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    if (sigaction(SIGINT, &sa, &previous_sigint) == 0) {
      catching = 1;
    }
  } else if (!on && catching) {
    sigaction(SIGINT, &previous_sigint, NULL);
    catching = 0;
    interrupted = 0;
  }
  lua_pushboolean(L, catching);
  return 1;
}

/* core.interrupted() -> whether SIGINT came since catch_interrupt(true)
 * (false once catch_interrupt(false) ended the catching). */
static int core_interrupted(lua_State *L) {
  lua_pushboolean(L, catching && interrupted != 0);
  return 1;
}

/* core.sleep(seconds): for backoff between retries. */
static int core_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec ts, rem;
  if (!(s > 0)) {
    return 0;
  }
  if (s > 3600) s = 3600;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  /* A caught Ctrl-C ends the wait: the batch then stops sending. */
  while (nanosleep(&ts, &rem) == -1 && errno == EINTR && !(catching && interrupted)) {
    ts = rem;
  }
  return 0;
}

/* core.now() -> seconds on a monotonic clock. */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

static const luaL_Reg core_functions[] = {
    {"redact", core_redact},
    {"suggest", core_suggest},
    {"url", core_url},
    {"url_parts", core_url_parts},
    {"sleep", core_sleep},
    {"catch_interrupt", core_catch_interrupt},
    {"interrupted", core_interrupted},
    {"now", core_now},
    {NULL, NULL},
};

CAMPAIGN_EXPORT int luaopen_campaign_core(lua_State *L) {
  /* Reference-counted by curl; never undone, since other modules in the
   * same process may use curl too. */
  static int curl_ready = 0;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      return luaL_error(L, "campaign: curl_global_init failed");
    }
    curl_ready = 1;
  }
  luaL_newlib(L, core_functions);
  campaign_encode_open(L);
  campaign_http_open(L);
  /* curl_version() would initialise libldap (and leak in it): the version
   * number alone is enough. */
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
