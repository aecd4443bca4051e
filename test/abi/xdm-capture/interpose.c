/*
 * LD_PRELOAD shim that lets libxendevicemodel run without Xen and records the
 * DM_OP ioctls it issues, for test/abi/libxendevicemodel.test.ts.
 *
 *  - open/open64/openat of /dev/xen/privcmd return an fd of /dev/null, which
 *    is remembered as a "privcmd" fd (libxencall and libxendevicemodel each
 *    open one).
 *  - open of /dev/xen/hypercall fails with ENOENT, as on a kernel without the
 *    hypercall-buffer device; libxencall then carries on (it would allocate
 *    hypercall buffers with anonymous mmap, but the DM_OP ioctl path never
 *    allocates any).
 *  - ioctl(privcmd fd, IOCTL_PRIVCMD_DM_OP, arg) prints one line and returns
 *    0 (including libxendevicemodel's open-time probe with num == 0, so it
 *    keeps using the ioctl rather than falling back to libxencall).
 *    Any other ioctl on a privcmd fd prints an UNEXPECTED line and fails with
 *    ENOTTY.
 *  - everything else goes to the real libc functions.
 *
 * Lines go to the file named by $XDM_CAPTURE_FILE (appended), else stderr:
 *   OPEN <path> fd=<n>            a privcmd open we redirected
 *   OPEN <path> ENOENT            a hypercall-device open we refused
 *   DMOP dom=<d> num=<n> [<size>:<hex>]...   one per DM_OP ioctl
 *   UNEXPECTED ioctl fd=<n> request=0x<r>
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/sys/privcmd.h>

_Static_assert(IOCTL_PRIVCMD_DM_OP == 0x00105005, "IOCTL_PRIVCMD_DM_OP");

#define PRIVCMD_PATH "/dev/xen/privcmd"
#define HYPERCALL_PATH "/dev/xen/hypercall"
#define MAX_TRACKED 4096

static unsigned char tracked[MAX_TRACKED];
static int log_fd = -1;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);

static void *next(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        static const char msg[] = "xdm-capture: dlsym failed\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        abort();
    }
    return p;
}

static void resolve(void)
{
    if (real_open != NULL)
        return;
    real_open64 = next("open64");
    real_openat = next("openat");
    real_ioctl = next("ioctl");
    real_close = next("close");
    real_open = next("open");
}

static void emit(const char *buf, size_t len)
{
    if (log_fd < 0) {
        const char *file = getenv("XDM_CAPTURE_FILE");
        log_fd = 2;
        if (file != NULL && *file != '\0') {
            int fd = real_open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0)
                log_fd = fd;
        }
    }
    while (len > 0) {
        ssize_t n = write(log_fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void emitf(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        emit(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Returns -2 when the path is not ours, else the fd (or -1 with errno). */
static int redirect(const char *path, int flags)
{
    int saved = errno, fd;

    if (path == NULL)
        return -2;
    if (strcmp(path, PRIVCMD_PATH) == 0) {
        fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
        if (fd < 0)
            return -1;
        if (fd < MAX_TRACKED)
            tracked[fd] = 1;
        emitf("OPEN %s fd=%d\n", path, fd);
        errno = saved;
        return fd;
    }
    if (strcmp(path, HYPERCALL_PATH) == 0) {
        emitf("OPEN %s ENOENT\n", path);
        errno = ENOENT;
        return -1;
    }
    return -2;
}

static int wants_mode(int flags)
{
#ifdef O_TMPFILE
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return 1;
#endif
    return (flags & O_CREAT) != 0;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    resolve();
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    fd = redirect(path, flags);
    if (fd != -2)
        return fd;
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    resolve();
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    fd = redirect(path, flags);
    if (fd != -2)
        return fd;
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    resolve();
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        fd = redirect(path, flags);
        if (fd != -2)
            return fd;
    }
    return real_openat(dirfd, path, flags, mode);
}

int close(int fd)
{
    resolve();
    if (fd >= 0 && fd < MAX_TRACKED)
        tracked[fd] = 0;
    return real_close(fd);
}

static void record_dm_op(const privcmd_dm_op_t *op)
{
    static const char digits[] = "0123456789abcdef";
    size_t cap = 64, len, i;
    char *line, *p;

    if (op == NULL) {
        emitf("DMOP NULL-ARGUMENT\n");
        return;
    }
    if (op->num > 0 && op->ubufs == NULL) {
        emitf("DMOP dom=%u num=%u NULL-UBUFS\n", (unsigned)op->dom, (unsigned)op->num);
        return;
    }
    for (i = 0; i < op->num; i++)
        cap += 24 + 2 * op->ubufs[i].size;
    line = malloc(cap);
    if (line == NULL) {
        emitf("DMOP dom=%u num=%u OUT-OF-MEMORY\n", (unsigned)op->dom, (unsigned)op->num);
        return;
    }
    len = (size_t)snprintf(line, cap, "DMOP dom=%u num=%u", (unsigned)op->dom, (unsigned)op->num);
    for (i = 0; i < op->num; i++) {
        const unsigned char *b = op->ubufs[i].uptr;
        size_t n = op->ubufs[i].size, j;

        len += (size_t)snprintf(line + len, cap - len, " %zu:", n);
        p = line + len;
        for (j = 0; b != NULL && j < n; j++) {
            *p++ = digits[b[j] >> 4];
            *p++ = digits[b[j] & 15];
        }
        len = (size_t)(p - line);
    }
    line[len++] = '\n';
    emit(line, len);
    free(line);
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    resolve();
    if (fd >= 0 && fd < MAX_TRACKED && tracked[fd]) {
        if (request == IOCTL_PRIVCMD_DM_OP) {
            record_dm_op(arg);
            return 0;
        }
        emitf("UNEXPECTED ioctl fd=%d request=0x%lx\n", fd, request);
        errno = ENOTTY;
        return -1;
    }
    return real_ioctl(fd, request, arg);
}
