/*
 * guest-dm: a C device model for the real-host guest (guest-program.h), run
 * in dom0 of the VM. It is the baseline the Node device model is measured
 * against: libxendevicemodel for the ioreq server, libxenforeignmemory for
 * its page (IOCTL_PRIVCMD_MMAP_RESOURCE), libxenevtchn for the vCPU's port.
 *
 *   guest-dm <domid> <expected message> [timeout seconds]
 *
 * Serves a 16550 UART at 0x3f8-0x3ff (THR collects the text, LSR reads
 * THRE|TEMT, SCR is a plain register) and the done port; unpauses the
 * (paused) domain once everything is bound; stops at the done write. Prints
 *   GUEST-C ok "<message>" <N> round trips in <T> s
 *   BENCH guest-c <R> round trips/s (<n> SCR writes)
 * and exits 0 if the guest printed exactly the expected message.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

#include "guest-program.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "guest-dm: %s: %s\n", what, strerror(errno));
}

struct uart {
  uint8_t ier, lcr, mcr, scr, dll, dlm;
  char text[GUEST_MESSAGE_MAX + 1];
  size_t len;
};

/* A read or write of one UART register (offset 0..7), as a 16550 answers. */
static uint64_t uart_io(struct uart *u, unsigned off, int is_read, uint8_t v) {
  int dlab = (u->lcr & 0x80) != 0;
  switch (off) {
  case 0:
    if (dlab) { if (is_read) return u->dll; u->dll = v; return 0; }
    if (is_read) return 0; /* RBR: nothing received */
    if (u->len < GUEST_MESSAGE_MAX) u->text[u->len++] = (char)v;
    return 0;
  case 1:
    if (dlab) { if (is_read) return u->dlm; u->dlm = v; return 0; }
    if (is_read) return u->ier;
    u->ier = v & 0x0f;
    return 0;
  case 2: return is_read ? 0x01 : 0;            /* IIR: no interrupt pending; FCR ignored */
  case 3: if (is_read) return u->lcr; u->lcr = v; return 0;
  case 4: if (is_read) return u->mcr; u->mcr = v & 0x1f; return 0;
  case 5: return is_read ? 0x60 : 0;            /* LSR: THRE | TEMT */
  case 6: return is_read ? 0xb0 : 0;            /* MSR: DCD | DSR | CTS */
  default: if (is_read) return u->scr; u->scr = v; return 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: guest-dm <domid> <expected message> [timeout seconds]\n");
    return 2;
  }
  domid_t domid = (domid_t)atoi(argv[1]);
  const char *expected = argv[2];
  int timeout_ms = (argc == 4 ? atoi(argv[3]) : 60) * 1000;
  int rc = 1;
  ioservid_t id = 0;
  int have_server = 0, enabled = 0;
  evtchn_port_t local = 0;
  int bound = 0;
  xenforeignmemory_resource_handle *res = NULL;
  void *addr = NULL;

  xc_interface *xch = xc_interface_open(NULL, NULL, 0);
  xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
  xenforeignmemory_handle *fmem = xenforeignmemory_open(NULL, 0);
  xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
  if (!xch || !dm || !fmem || !xce) { die("open"); goto out; }

  /* Order as QEMU's xen_hvm_init (hw/i386/xen/xen-hvm.c): create, map, claim,
   * enable (which writes each vCPU's port into its slot: xen/common/ioreq.c
   * hvm_ioreq_server_enable), bind, and only then let the guest run. */
  if (xendevicemodel_create_ioreq_server(dm, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &id)) { die("create_ioreq_server"); goto out; }
  have_server = 1;
  res = xenforeignmemory_map_resource(fmem, domid, XENMEM_resource_ioreq_server, id,
                                      XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
                                      PROT_READ | PROT_WRITE, 0);
  if (!res) { die("map_resource(ioreq)"); goto out; }
  if (xendevicemodel_map_io_range_to_ioreq_server(dm, domid, id, 0, GUEST_UART_BASE, GUEST_UART_BASE + 7) ||
      xendevicemodel_map_io_range_to_ioreq_server(dm, domid, id, 0, GUEST_DONE_PORT, GUEST_DONE_PORT)) {
    die("map_io_range"); goto out;
  }
  if (xendevicemodel_set_ioreq_server_state(dm, domid, id, 1)) { die("set_ioreq_server_state(1)"); goto out; }
  enabled = 1;
  volatile ioreq_t *req = &((shared_iopage_t *)addr)->vcpu_ioreq[0];
  evtchn_port_t remote = req->vp_eport;
  xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(xce, domid, remote);
  if (p < 0) { die("bind_interdomain"); goto out; }
  local = (evtchn_port_t)p;
  bound = 1;

  struct uart u;
  memset(&u, 0, sizeof u);
  unsigned long served = 0, scr_writes = 0;
  double t0 = now_s(), tb = 0, t1 = 0;
  int done = 0;
  if (xc_domain_unpause(xch, domid)) { die("xc_domain_unpause"); goto out; }
  struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
  while (!done) {
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0) { if (errno == EINTR) continue; die("poll"); goto out; }
    if (n == 0) {
      fprintf(stderr, "guest-dm: no request for %d s after %lu round trips (text so far \"%.*s\")\n",
              timeout_ms / 1000, served, (int)u.len, u.text);
      goto out;
    }
    xenevtchn_port_or_error_t port = xenevtchn_pending(xce);
    if (port < 0) { die("xenevtchn_pending"); goto out; }
    xenevtchn_unmask(xce, (evtchn_port_t)port);
    if ((evtchn_port_t)port != local) continue;
    /* A freshly bound port arrives pending once with nothing in the slot. */
    /* state is a bitfield: a volatile read, then an acquire fence before the
     * body (QEMU: xen_rmb() in cpu_get_ioreq_from_shared_memory). */
    if (req->state != STATE_IOREQ_READY) continue;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    ioreq_t r = *(ioreq_t *)req;
    if (r.type != IOREQ_TYPE_PIO || r.data_is_ptr || r.count != 1 || r.size != 1) {
      fprintf(stderr, "guest-dm: unexpected ioreq type %u addr %#llx size %u count %u ptr %u\n",
              r.type, (unsigned long long)r.addr, r.size, r.count, r.data_is_ptr);
      goto out;
    }
    uint64_t data = 0;
    if (r.addr >= GUEST_UART_BASE && r.addr <= GUEST_UART_BASE + 7) {
      if (r.addr == GUEST_UART_SCR && r.dir == IOREQ_WRITE && !scr_writes++) tb = now_s();
      data = uart_io(&u, (unsigned)(r.addr - GUEST_UART_BASE), r.dir == IOREQ_READ, (uint8_t)r.data);
    } else if (r.addr == GUEST_DONE_PORT) {
      done = 1;
      t1 = now_s();
    }
    if (r.dir == IOREQ_READ) req->data = data;
    served++;
    /* The response, then a release fence, then the state, then the notify. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    req->state = STATE_IORESP_READY;
    xenevtchn_notify(xce, local);
  }
  u.text[u.len] = 0;
  if (strcmp(u.text, expected) != 0) {
    printf("GUEST-C FAIL got \"%s\", expected \"%s\"\n", u.text, expected);
    goto out;
  }
  printf("GUEST-C ok \"%s\" %lu round trips in %.3f s\n", u.text, served, t1 - t0);
  if (scr_writes > 1) printf("BENCH guest-c %.0f round trips/s (%lu SCR writes)\n", (double)(scr_writes - 1) / (t1 - tb), scr_writes);
  rc = 0;

out:
  /* Teardown in reverse: unbind, disable, unmap, destroy (QEMU's xen_exit_notifier order). */
  if (bound) xenevtchn_unbind(xce, local);
  if (enabled) xendevicemodel_set_ioreq_server_state(dm, domid, id, 0);
  if (res) xenforeignmemory_unmap_resource(fmem, res);
  if (have_server) xendevicemodel_destroy_ioreq_server(dm, domid, id);
  if (xce) xenevtchn_close(xce);
  if (fmem) xenforeignmemory_close(fmem);
  if (dm) xendevicemodel_close(dm);
  if (xch) xc_interface_close(xch);
  return rc;
}
