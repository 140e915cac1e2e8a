#ifndef CAPI_RELAY_CSQLITE_SHIM_H
#define CAPI_RELAY_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import as a macro.
// Binding with it makes SQLite copy the bytes before the call returns.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return (sqlite3_destructor_type)-1;
}

// sqlite3_config is variadic, which Swift cannot call. Without memory statistics SQLite takes
// no process-wide lock around every allocation; the relay never reads them. Must run before
// the first connection opens (later it returns SQLITE_MISUSE and changes nothing).
static inline int csqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
