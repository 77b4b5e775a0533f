/* Pieces of campaign.core that live in their own files. */
#ifndef CAMPAIGN_CORE_H
#define CAMPAIGN_CORE_H

#include "compat.h"

#pragma GCC visibility push(hidden)

/* Sets core.validate, core.encode, core.json and the schema functions on
 * the table on top (encode.c). */
void campaign_encode_open(lua_State *L);

/* Registers the HTTP handle type and sets core.http on the table on top. */
void campaign_http_open(lua_State *L);

/* core.redact(s, secret, replacement) (redact.c). */
int core_redact(lua_State *L);

#pragma GCC visibility pop

#endif
