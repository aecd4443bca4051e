/*
 * An LD_PRELOAD fake /dev/xen/privcmd for the overhead benchmark
 * (npm run bench): the cost of a DMOP in userspace, free of the kernel and
 * Xen, so that the library's overhead over a bare ioctl can be measured on
 * any Linux machine.
 *
 *  - open/open64/openat of /dev/xen/privcmd return an fd of /dev/null,
 *    remembered as privcmd.
 *  - ioctl(privcmd fd, IOCTL_PRIVCMD_DM_OP) reads buffer 0's op; for
 *    XEN_DMOP_nr_vcpus it writes vcpus = dom + 1 back (2 for the benchmark's
 *    domain 1; a test sees which domain arrived) and returns 0.
 *    Other DMOPs return 0 untouched; num == 0 or a bad pointer is EFAULT.
 *  - IOCTL_PRIVCMD_RESTRICT returns 0; any other ioctl on it is ENOTTY.
 *  - everything else goes to libc.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/sys/privcmd.h>
#include <xen/hvm/dm_op.h>

#define PRIVCMD_PATH "/dev/xen/privcmd"
#define MAX_TRACKED 4096

static unsigned char tracked[MAX_TRACKED];
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);

static void *next(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL)
        abort();
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

static int redirect(const char *path, int flags)
{
    int fd;
    if (path == NULL || strcmp(path, PRIVCMD_PATH) != 0)
        return -2;
    fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
    if (fd >= 0 && fd < MAX_TRACKED)
        tracked[fd] = 1;
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;
    resolve();
    fd = redirect(path, flags);
    if (fd != -2)
        return fd;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;
    resolve();
    fd = redirect(path, flags);
    if (fd != -2)
        return fd;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;
    resolve();
    fd = redirect(path, flags);
    if (fd != -2)
        return fd;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return real_openat(dirfd, path, flags, mode);
}

int close(int fd)
{
    resolve();
    if (fd >= 0 && fd < MAX_TRACKED)
        tracked[fd] = 0;
    return real_close(fd);
}

static int dm_op(struct privcmd_dm_op *op)
{
    struct xen_dm_op *dm;
    if (op == NULL || op->num == 0 || op->ubufs == NULL || op->ubufs[0].uptr == NULL ||
        op->ubufs[0].size < offsetof(struct xen_dm_op, u)) {
        errno = EFAULT;
        return -1;
    }
    dm = op->ubufs[0].uptr;
    if (dm->op == XEN_DMOP_nr_vcpus && op->ubufs[0].size >= offsetof(struct xen_dm_op, u) + sizeof(dm->u.nr_vcpus))
        dm->u.nr_vcpus.vcpus = (uint32_t)op->dom + 1;
    return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;
    resolve();
    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (fd < 0 || fd >= MAX_TRACKED || !tracked[fd])
        return real_ioctl(fd, request, arg);
    if (request == IOCTL_PRIVCMD_DM_OP)
        return dm_op(arg);
    if (request == IOCTL_PRIVCMD_RESTRICT)
        return 0;
    errno = ENOTTY;
    return -1;
}
