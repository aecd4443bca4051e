/*
 * The C side of the overhead benchmark: N nr_vcpus DM_OP ioctls on an open
 * /dev/xen/privcmd, the way libxendevicemodel issues them (one 32-byte
 * struct xen_dm_op as buffer 0), timed with CLOCK_MONOTONIC. Run under the
 * fake device (fake-privcmd.so) it is the floor any binding pays. Prints
 * {"ns": <per call>, "vcpus": <answer>}.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/sys/privcmd.h>
#include <xen/hvm/dm_op.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
    struct xen_dm_op dm;
    privcmd_dm_op_buf_t buf;
    privcmd_dm_op_t op;
    struct timespec a, b;
    long i;

    if (fd < 0) {
        perror("open /dev/xen/privcmd");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++) {
        /* What a caller does per call: fill the op, describe it, issue it. */
        memset(&dm, 0, sizeof(dm));
        dm.op = XEN_DMOP_nr_vcpus;
        buf.uptr = &dm;
        buf.size = sizeof(dm);
        op.dom = 1;
        op.num = 1;
        op.ubufs = &buf;
        if (ioctl(fd, IOCTL_PRIVCMD_DM_OP, &op) != 0) {
            perror("ioctl");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("{\"ns\": %.2f, \"vcpus\": %u}\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n, dm.u.nr_vcpus.vcpus);
    close(fd);
    return 0;
}
