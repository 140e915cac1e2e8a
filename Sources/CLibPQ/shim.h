#ifndef CAPI_RELAY_CLIBPQ_SHIM_H
#define CAPI_RELAY_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
