/*
 * dmop-bench: the C side of the device benchmark, run in dom0 of the VM.
 * Issues the nr_vcpus DMOP in a loop, either as the bare ioctl (what the
 * Node device backend does underneath) or through libxendevicemodel, and
 * prints nanoseconds per call.
 *
 *   dmop-bench <domid> <iterations> ioctl|xdm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <xendevicemodel.h>
#include <xen/xen.h>
#include <xen/sys/privcmd.h>
#include <xen/hvm/dm_op.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dmop-bench <domid> <iterations> ioctl|xdm\n");
    return 2;
  }
  domid_t dom = (domid_t)atoi(argv[1]);
  long n = atol(argv[2]);
  double t0, t1;
  if (strcmp(argv[3], "ioctl") == 0) {
    int fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
    if (fd < 0) { perror("open /dev/xen/privcmd"); return 1; }
    struct xen_dm_op op;
    privcmd_dm_op_buf_t buf = { &op, sizeof op };
    privcmd_dm_op_t arg = { dom, 1, &buf };
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
      memset(&op, 0, sizeof op);
      op.op = XEN_DMOP_nr_vcpus;
      if (ioctl(fd, IOCTL_PRIVCMD_DM_OP, &arg) != 0) {
        int e = errno;
        fprintf(stderr, "DM_OP: %s\n", strerror(e));
        return 1;
      }
    }
    t1 = now_ns();
    if (op.u.nr_vcpus.vcpus == 0) { fprintf(stderr, "no vcpus?\n"); return 1; }
    close(fd);
  } else if (strcmp(argv[3], "xdm") == 0) {
    xendevicemodel_handle *h = xendevicemodel_open(NULL, 0);
    if (!h) { perror("xendevicemodel_open"); return 1; }
    unsigned int vcpus = 0;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
      if (xendevicemodel_nr_vcpus(h, dom, &vcpus) != 0) {
        int e = errno;
        fprintf(stderr, "xendevicemodel_nr_vcpus: %s\n", strerror(e));
        return 1;
      }
    }
    t1 = now_ns();
    if (vcpus == 0) { fprintf(stderr, "no vcpus?\n"); return 1; }
    xendevicemodel_close(h);
  } else {
    fprintf(stderr, "mode must be ioctl or xdm\n");
    return 2;
  }
  printf("%.1f\n", (t1 - t0) / (double)n);
  return 0;
}
