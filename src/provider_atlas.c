/* Atlas: field tables and cross-field rules (not yet in this build). */
#include "providers.h"

const vschema atlas_schemas[] = {
    {NULL, NULL, 0},
};
