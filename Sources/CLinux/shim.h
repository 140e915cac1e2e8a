#ifndef CAPI_RELAY_CLINUX_SHIM_H
#define CAPI_RELAY_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module leaves out: epoll and eventfd, for the HTTP
// server's event loops. Part of glibc itself, so nothing is linked.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
