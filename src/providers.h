/* Each provider file exports its schemas: the field tables and cross-field
 * rules of that provider's request bodies and queries. */
#ifndef CAMPAIGN_PROVIDERS_H
#define CAMPAIGN_PROVIDERS_H

#include "validate.h"

extern const vschema vapi_schemas[];
extern const vschema smallest_schemas[];
extern const vschema autocalls_schemas[];
extern const vschema atlas_schemas[];

#endif
