/*
 * xenctl: the toolstack side of the real-host harness, run in dom0 of the VM.
 * Creates and destroys the domains the contract suite targets, with
 * libxenctrl, the way libxl would (paused, RAM populated from pfn 0, the ioreq
 * server page pool libxl sets up).
 *
 *   xenctl hvm <vcpus> <pages> [count]  print the new HVM (HAP) domains' ids, one a line
 *   xenctl guest <message> <iterations>
 *                                print the id of a new, paused 1-vCPU HVM
 *                                domain that will run the UART guest program
 *                                (see guest-program.h)
 *   xenctl pv                    print the new (empty) PV domain's id
 *   xenctl logdirty <domid>...   turn on log-dirty mode (XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY)
 *   xenctl unpause <domid>...
 *   xenctl unbound <domid> <remote domid>
 *                                print a new unbound event-channel port of
 *                                <domid> that <remote domid> may bind
 *                                (EVTCHNOP_alloc_unbound, as a toolstack
 *                                allocates xenstore's and the console's)
 *   xenctl destroy <domid>...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>
#include <xenforeignmemory.h>
#include <sys/mman.h>

#include "guest-program.h"

/* libxl's layout: 8 ioreq server pages just below the 8 special pages that end at 0xff000. */
#define NR_IOREQ_SERVER_PAGES 8
#define IOREQ_SERVER_PFN (0xff000 - 8 - NR_IOREQ_SERVER_PAGES)

static int fail(const char *what) {
  fprintf(stderr, "xenctl: %s: %s\n", what, strerror(errno));
  return 1;
}

/* Returns the new domain's id (and prints it if asked), or -1. */
static int create(xc_interface *xch, int hvm, unsigned vcpus, unsigned pages, int print) {
  struct xen_domctl_createdomain cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.flags = hvm ? (XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap) : 0;
  cfg.max_vcpus = vcpus;
  cfg.max_evtchn_port = -1;
  cfg.max_grant_frames = -1;
  cfg.max_maptrack_frames = -1;
  cfg.grant_opts = XEN_DOMCTL_GRANT_version(1);
  cfg.arch.emulation_flags = hvm ? (XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI) : 0;
  uint32_t domid = 0;
  if (xc_domain_create(xch, &domid, &cfg)) return -fail("xc_domain_create");
  if (xc_domain_max_vcpus(xch, domid, vcpus) && errno != EINVAL && errno != EEXIST) {
    fail("xc_domain_max_vcpus");
    xc_domain_destroy(xch, domid);
    return -1;
  }
  if (xc_domain_setmaxmem(xch, domid, (uint64_t)(pages + NR_IOREQ_SERVER_PAGES + 64) * 4)) {
    fail("xc_domain_setmaxmem");
    xc_domain_destroy(xch, domid);
    return -1;
  }
  if (hvm && pages) {
    xen_pfn_t *pfns = calloc(pages, sizeof *pfns);
    if (!pfns) return -fail("calloc");
    for (unsigned i = 0; i < pages; i++) pfns[i] = i;
    int rc = xc_domain_populate_physmap_exact(xch, domid, pages, 0, 0, pfns);
    /* libxl populates the ioreq server pages too (Xen maps them on get_ioreq_server_info). */
    xen_pfn_t ioreq[NR_IOREQ_SERVER_PAGES];
    for (unsigned i = 0; i < NR_IOREQ_SERVER_PAGES; i++) ioreq[i] = IOREQ_SERVER_PFN + i;
    if (!rc) rc = xc_domain_populate_physmap_exact(xch, domid, NR_IOREQ_SERVER_PAGES, 0, 0, ioreq);
    free(pfns);
    if (rc) {
      fail("xc_domain_populate_physmap_exact");
      xc_domain_destroy(xch, domid);
      return -1;
    }
    if (xc_hvm_param_set(xch, domid, HVM_PARAM_IOREQ_SERVER_PFN, IOREQ_SERVER_PFN) ||
        xc_hvm_param_set(xch, domid, HVM_PARAM_NR_IOREQ_SERVER_PAGES, NR_IOREQ_SERVER_PAGES)) {
      fail("xc_hvm_param_set");
      xc_domain_destroy(xch, domid);
      return -1;
    }
  }
  if (print) printf("%u\n", domid);
  return (int)domid;
}

/*
 * Copies the guest program and its data into gfn GUEST_CODE_GFN through a
 * foreign map (IOCTL_PRIVCMD_MMAPBATCH_V2 underneath).
 */
static int load_program(uint32_t domid, const char *message, uint32_t iterations) {
  size_t len = strlen(message);
  if (len > GUEST_MESSAGE_MAX) {
    fprintf(stderr, "xenctl: message longer than %d bytes\n", GUEST_MESSAGE_MAX);
    return 1;
  }
  xenforeignmemory_handle *fmem = xenforeignmemory_open(NULL, 0);
  if (!fmem) return fail("xenforeignmemory_open");
  xen_pfn_t gfn = GUEST_CODE_GFN;
  int err = 0;
  uint8_t *page = xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, 1, &gfn, &err);
  if (!page || err) {
    if (!page) fail("xenforeignmemory_map");
    else fprintf(stderr, "xenctl: xenforeignmemory_map: gfn error %d\n", err);
    xenforeignmemory_close(fmem);
    return 1;
  }
  memset(page, 0, 4096);
  memcpy(page, guest_code, sizeof guest_code);
  memcpy(page + GUEST_ITERATIONS_OFFSET, &iterations, sizeof iterations);
  memcpy(page + GUEST_MESSAGE_OFFSET, message, len + 1);
  xenforeignmemory_unmap(fmem, page, 1);
  xenforeignmemory_close(fmem);
  return 0;
}

/*
 * The boot vCPU, the way libxenguest's bootlate_hvm sets it
 * (tools/libs/guest/xg_dom_x86.c: vcpu_hvm): the HEADER record of the
 * domain's own context, then a CPU record in flat 32-bit protected mode with
 * paging off, then END.
 */
static int set_boot_vcpu(xc_interface *xch, uint32_t domid) {
  struct {
    struct hvm_save_descriptor header_d;
    HVM_SAVE_TYPE(HEADER) header;
    struct hvm_save_descriptor cpu_d;
    HVM_SAVE_TYPE(CPU) cpu;
    struct hvm_save_descriptor end_d;
    HVM_SAVE_TYPE(END) end;
  } ctx;
  int full_len = xc_domain_hvm_getcontext(xch, domid, NULL, 0);
  if (full_len < (int)(sizeof ctx.header_d + sizeof ctx.header)) return fail("xc_domain_hvm_getcontext(size)");
  uint8_t *full = calloc(1, (size_t)full_len);
  if (!full) return fail("calloc");
  if (xc_domain_hvm_getcontext(xch, domid, full, (uint32_t)full_len) < 0) {
    free(full);
    return fail("xc_domain_hvm_getcontext");
  }
  memset(&ctx, 0, sizeof ctx);
  memcpy(&ctx.header_d, full, sizeof ctx.header_d + sizeof ctx.header);
  free(full);
  ctx.cpu_d.typecode = HVM_SAVE_CODE(CPU);
  ctx.cpu_d.instance = 0;
  ctx.cpu_d.length = HVM_SAVE_LENGTH(CPU);
  ctx.cpu.cs_limit = ctx.cpu.ds_limit = ctx.cpu.es_limit = ctx.cpu.ss_limit = ~0u;
  ctx.cpu.cs_arbytes = 0xc9b; /* present, DPL0, code exec/read accessed, 32-bit, 4K granularity */
  ctx.cpu.ds_arbytes = ctx.cpu.es_arbytes = ctx.cpu.ss_arbytes = 0xc93; /* data read/write */
  ctx.cpu.tr_limit = 0x67;
  ctx.cpu.tr_arbytes = 0x8b; /* busy 32-bit TSS */
  ctx.cpu.cr0 = 0x11;        /* PE | ET */
  ctx.cpu.rflags = 0x2;      /* reserved bit 1; IF clear, so hlt waits for good */
  ctx.cpu.rip = GUEST_ENTRY;
  ctx.cpu.dr6 = 0xffff0ff0;  /* X86_DR6_DEFAULT */
  ctx.cpu.dr7 = 0x400;       /* X86_DR7_DEFAULT */
  ctx.end_d.typecode = HVM_SAVE_CODE(END);
  ctx.end_d.instance = 0;
  ctx.end_d.length = HVM_SAVE_LENGTH(END);
  if (xc_domain_hvm_setcontext(xch, domid, (uint8_t *)&ctx, sizeof ctx)) return fail("xc_domain_hvm_setcontext");
  return 0;
}

static int guest(xc_interface *xch, const char *message, uint32_t iterations) {
  int rc = create(xch, 1, 1, GUEST_RAM_PAGES, 0);
  if (rc < 0) return 1;
  uint32_t domid = (uint32_t)rc;
  if (load_program(domid, message, iterations) || set_boot_vcpu(xch, domid)) {
    xc_domain_destroy(xch, domid);
    return 1;
  }
  printf("%u\n", domid);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: xenctl hvm <vcpus> <pages> [count] | guest <message> <iterations> | pv | logdirty <domid>... | unpause <domid>... | unbound <domid> <remote> | destroy <domid>...\n");
    return 2;
  }
  xc_interface *xch = xc_interface_open(NULL, NULL, 0);
  if (!xch) return fail("xc_interface_open");
  int rc = 0;
  if (!strcmp(argv[1], "hvm") && (argc == 4 || argc == 5)) {
    /* A count makes many at once: the fidelity recorder wants a fresh domain per case. */
    int count = argc == 5 ? atoi(argv[4]) : 1;
    for (int i = 0; i < count && rc == 0; i++) rc = create(xch, 1, (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), 1) < 0;
  } else if (!strcmp(argv[1], "guest") && argc == 4) {
    rc = guest(xch, argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
  } else if (!strcmp(argv[1], "pv")) {
    rc = create(xch, 0, 1, 0, 1) < 0;
  } else if (!strcmp(argv[1], "logdirty") && argc >= 3) {
    for (int i = 2; i < argc; i++)
      if (xc_shadow_control(xch, (uint32_t)atoi(argv[i]), XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        rc = fail("xc_shadow_control(ENABLE_LOGDIRTY)");
  } else if (!strcmp(argv[1], "unpause") && argc >= 3) {
    for (int i = 2; i < argc; i++)
      if (xc_domain_unpause(xch, (uint32_t)atoi(argv[i]))) rc = fail("xc_domain_unpause");
  } else if (!strcmp(argv[1], "unbound") && argc == 4) {
    int port = xc_evtchn_alloc_unbound(xch, (uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]));
    if (port < 0) rc = fail("xc_evtchn_alloc_unbound");
    else printf("%d\n", port);
  } else if (!strcmp(argv[1], "destroy")) {
    for (int i = 2; i < argc; i++)
      if (xc_domain_destroy(xch, (uint32_t)atoi(argv[i]))) rc = fail("xc_domain_destroy");
  } else {
    fprintf(stderr, "xenctl: unknown command %s\n", argv[1]);
    rc = 2;
  }
  xc_interface_close(xch);
  return rc;
}
