/*
 * xenctl: the toolstack side of the real-host harness, run in dom0 of the VM.
 * Creates and destroys the domains the contract suite targets, with
 * libxenctrl, the way libxl would (paused, RAM populated from pfn 0, the ioreq
 * server page pool libxl sets up).
 *
 *   xenctl hvm <vcpus> <pages> [count]  print the new HVM (HAP) domains' ids, one a line
 *   xenctl pv                    print the new (empty) PV domain's id
 *   xenctl logdirty <domid>...   turn on log-dirty mode (XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY)
 *   xenctl destroy <domid>...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xen/hvm/params.h>

/* libxl's layout: 8 ioreq server pages just below the 8 special pages that end at 0xff000. */
#define NR_IOREQ_SERVER_PAGES 8
#define IOREQ_SERVER_PFN (0xff000 - 8 - NR_IOREQ_SERVER_PAGES)

static int fail(const char *what) {
  fprintf(stderr, "xenctl: %s: %s\n", what, strerror(errno));
  return 1;
}

static int create(xc_interface *xch, int hvm, unsigned vcpus, unsigned pages) {
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
  if (xc_domain_create(xch, &domid, &cfg)) return fail("xc_domain_create");
  if (xc_domain_max_vcpus(xch, domid, vcpus) && errno != EINVAL && errno != EEXIST) {
    fail("xc_domain_max_vcpus");
    xc_domain_destroy(xch, domid);
    return 1;
  }
  if (xc_domain_setmaxmem(xch, domid, (uint64_t)(pages + NR_IOREQ_SERVER_PAGES + 64) * 4)) {
    fail("xc_domain_setmaxmem");
    xc_domain_destroy(xch, domid);
    return 1;
  }
  if (hvm && pages) {
    xen_pfn_t *pfns = calloc(pages, sizeof *pfns);
    if (!pfns) return fail("calloc");
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
      return 1;
    }
    if (xc_hvm_param_set(xch, domid, HVM_PARAM_IOREQ_SERVER_PFN, IOREQ_SERVER_PFN) ||
        xc_hvm_param_set(xch, domid, HVM_PARAM_NR_IOREQ_SERVER_PAGES, NR_IOREQ_SERVER_PAGES)) {
      fail("xc_hvm_param_set");
      xc_domain_destroy(xch, domid);
      return 1;
    }
  }
  printf("%u\n", domid);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: xenctl hvm <vcpus> <pages> [count] | pv | logdirty <domid>... | destroy <domid>...\n");
    return 2;
  }
  xc_interface *xch = xc_interface_open(NULL, NULL, 0);
  if (!xch) return fail("xc_interface_open");
  int rc = 0;
  if (!strcmp(argv[1], "hvm") && (argc == 4 || argc == 5)) {
    /* A count makes many at once: the fidelity recorder wants a fresh domain per case. */
    int count = argc == 5 ? atoi(argv[4]) : 1;
    for (int i = 0; i < count && rc == 0; i++) rc = create(xch, 1, (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
  } else if (!strcmp(argv[1], "pv")) {
    rc = create(xch, 0, 1, 0);
  } else if (!strcmp(argv[1], "logdirty") && argc >= 3) {
    for (int i = 2; i < argc; i++)
      if (xc_shadow_control(xch, (uint32_t)atoi(argv[i]), XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        rc = fail("xc_shadow_control(ENABLE_LOGDIRTY)");
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
