#ifndef CAPI_RELAY_CLINUX_SHIM_H
#define CAPI_RELAY_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module leaves out: epoll and eventfd for the HTTP
// server's event loops, and peer credentials for the feed socket. Part of glibc itself, so
// nothing is linked.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// struct ucred is only declared under _GNU_SOURCE, which Swift's Glibc module is not built
// with; the kernel's layout is three 32-bit fields.
struct clinux_peer_credentials {
    int pid;
    unsigned int uid;
    unsigned int gid;
};

// SO_PEERCRED on a connected Unix socket. Returns 0, or -1 with errno set.
static inline int clinux_peer_credentials(int fd, struct clinux_peer_credentials *out) {
    socklen_t length = sizeof(*out);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, &length);
}
#endif
