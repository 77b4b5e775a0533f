/* The providers of the C core. Each has one file, src/provider_<name>.c,
 * which exports <name>_schemas[]: the field tables and cross-field rules of
 * that provider's request bodies and queries, ending with a {NULL} entry.
 * This list is the only other place a provider is named: the declarations
 * below and the schema table of core.c are made from it. Adding a provider
 * is its file and one X(name) here; the order is the order of
 * core.schemas(). */
#ifndef CAMPAIGN_PROVIDERS_H
#define CAMPAIGN_PROVIDERS_H

#include "formats.h"
#include "validate.h"

#pragma GCC visibility push(hidden)

/* One line per provider, each ending with a backslash. */
#define CAMPAIGN_PROVIDERS(X) \
  X(vapi)                     \
  X(smallest)                 \
  X(autocalls)                \
  X(atlas)                    \
  /* end of the list */

#define CAMPAIGN_DECLARE_SCHEMAS(name) extern const vschema name##_schemas[];
CAMPAIGN_PROVIDERS(CAMPAIGN_DECLARE_SCHEMAS)
#undef CAMPAIGN_DECLARE_SCHEMAS

#pragma GCC visibility pop

#endif
