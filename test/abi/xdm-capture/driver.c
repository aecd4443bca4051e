/*
 * Calls every DM_OP-issuing function of libxendevicemodel (Xen 4.17) once or
 * more, with distinctive arguments, for test/abi/libxendevicemodel.test.ts.
 * Run it under LD_PRELOAD=interpose.so: each call is announced with
 *   CALL <name>
 * before it, and its result with
 *   RET <name> rc=<rc> errno=<errno>
 * after it, on the same stream as interpose.so's DMOP lines ($XDM_CAPTURE_FILE,
 * appended, else stderr), so each DMOP line can be told apart. The last line
 * is END. The test keeps <name>s and arguments in step with this file.
 */
#define _GNU_SOURCE
/* As Xen's own tools are built: exposes HVM_IOREQSRV_BUFIOREQ_* etc. */
#define __XEN_TOOLS__ 1
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xendevicemodel.h>
#include <xen/sched.h>

/* Every call targets this domain; the test checks it reaches the ioctl. */
#define DOMID ((domid_t)0x1234)

static int out_fd = 2;
static int failures;

static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && write(out_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
        exit(3);
}

static void done(const char *name, int rc)
{
    say("RET %s rc=%d errno=%d\n", name, rc, rc < 0 ? errno : 0);
    if (rc != 0)
        failures++;
}

/* Announce, call, report: CALL(name, expression-returning-int). */
#define CALL(name, expr)                    \
    do {                                    \
        int rc_;                            \
        say("CALL %s\n", name);             \
        errno = 0;                          \
        rc_ = (expr);                       \
        done(name, rc_);                    \
    } while (0)

int main(void)
{
    const char *file = getenv("XDM_CAPTURE_FILE");
    xendevicemodel_handle *h;
    ioservid_t id = 0;
    xen_pfn_t ioreq_gfn = 0, bufioreq_gfn = 0;
    evtchn_port_t port = 0;
    unsigned long bitmap[(100 + 8 * sizeof(unsigned long) - 1) / (8 * sizeof(unsigned long))];
    struct xen_dm_op_modified_memory_extent extents[3];
    unsigned int vcpus = 0;

    if (file != NULL && *file != '\0') {
        out_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (out_fd < 0) {
            perror(file);
            return 2;
        }
    }

    h = xendevicemodel_open(NULL, 0);
    if (h == NULL) {
        say("OPEN-FAILED errno=%d\n", errno);
        return 1;
    }
    say("OPENED\n");

    CALL("create_ioreq_server",
         xendevicemodel_create_ioreq_server(h, DOMID, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &id));
    CALL("get_ioreq_server_info/gfns",
         xendevicemodel_get_ioreq_server_info(h, DOMID, 0x0b7, &ioreq_gfn, &bufioreq_gfn, &port));
    CALL("get_ioreq_server_info/ioreq_gfn_only",
         xendevicemodel_get_ioreq_server_info(h, DOMID, 0x0b8, &ioreq_gfn, NULL, NULL));
    CALL("get_ioreq_server_info/no_gfns",
         xendevicemodel_get_ioreq_server_info(h, DOMID, 0x0b9, NULL, NULL, &port));
    CALL("map_io_range_to_ioreq_server/port",
         xendevicemodel_map_io_range_to_ioreq_server(h, DOMID, 0x0c1, 0, 0x3f8, 0x3ff));
    CALL("map_io_range_to_ioreq_server/memory",
         xendevicemodel_map_io_range_to_ioreq_server(h, DOMID, 0x0c2, 1, 0x123456000ULL, 0x123456fffULL));
    CALL("unmap_io_range_from_ioreq_server/port",
         xendevicemodel_unmap_io_range_from_ioreq_server(h, DOMID, 0x0c3, 0, 0xcf8, 0xcff));
    CALL("unmap_io_range_from_ioreq_server/memory",
         xendevicemodel_unmap_io_range_from_ioreq_server(h, DOMID, 0x0c4, 1, 0xfed40000ULL, 0xfed44fffULL));
    CALL("map_mem_type_to_ioreq_server",
         xendevicemodel_map_mem_type_to_ioreq_server(h, DOMID, 0x0c5, HVMMEM_ioreq_server,
                                                     XEN_DMOP_IOREQ_MEM_ACCESS_WRITE));
    CALL("map_pcidev_to_ioreq_server",
         xendevicemodel_map_pcidev_to_ioreq_server(h, DOMID, 0x0c6, 0x0001, 0x2a, 0x1c, 5));
    CALL("unmap_pcidev_from_ioreq_server",
         xendevicemodel_unmap_pcidev_from_ioreq_server(h, DOMID, 0x0c7, 0xabcd, 0xfe, 0x1f, 7));
    CALL("set_ioreq_server_state/on",
         xendevicemodel_set_ioreq_server_state(h, DOMID, 0x0c8, 1));
    CALL("set_ioreq_server_state/off",
         xendevicemodel_set_ioreq_server_state(h, DOMID, 0x0c9, 0));
    CALL("destroy_ioreq_server",
         xendevicemodel_destroy_ioreq_server(h, DOMID, 0x0ca));
    CALL("set_pci_intx_level",
         xendevicemodel_set_pci_intx_level(h, DOMID, 0x0002, 0x33, 0x1e, 3, 1));
    CALL("set_isa_irq_level",
         xendevicemodel_set_isa_irq_level(h, DOMID, 11, 1));
    CALL("set_irq_level",
         xendevicemodel_set_irq_level(h, DOMID, 0x12345, 1));
    CALL("set_pci_link_route",
         xendevicemodel_set_pci_link_route(h, DOMID, 2, 10));
    CALL("inject_msi",
         xendevicemodel_inject_msi(h, DOMID, 0xafee01004ULL, 0x4041));
    memset(bitmap, 0xa5, sizeof(bitmap));
    CALL("track_dirty_vram",
         xendevicemodel_track_dirty_vram(h, DOMID, 0xf0000, 100, bitmap));
    CALL("modified_memory",
         xendevicemodel_modified_memory(h, DOMID, 0x12345678, 0x21));
    memset(extents, 0, sizeof(extents));
    extents[0].first_pfn = 0x100;
    extents[0].nr = 4;
    extents[1].first_pfn = 0xabcdef012ULL;
    extents[1].nr = 0x10000;
    extents[2].first_pfn = 0x7;
    extents[2].nr = 1;
    CALL("modified_memory_bulk",
         xendevicemodel_modified_memory_bulk(h, DOMID, extents, 3));
    CALL("set_mem_type",
         xendevicemodel_set_mem_type(h, DOMID, HVMMEM_ram_ro, 0x987654321ULL, 0x300));
    CALL("inject_event/hw_exc",
         xendevicemodel_inject_event(h, DOMID, 3, 14, XEN_DMOP_EVENT_hw_exc, 0x1b, 0, 0xdeadb000ULL));
    CALL("inject_event/sw_int",
         xendevicemodel_inject_event(h, DOMID, 1, 0x80, XEN_DMOP_EVENT_sw_int, ~0u, 2, 0));
    CALL("shutdown",
         xendevicemodel_shutdown(h, DOMID, SHUTDOWN_watchdog));
    CALL("relocate_memory",
         xendevicemodel_relocate_memory(h, DOMID, 0x40, 0x100000123ULL, 0x200000456ULL));
    CALL("pin_memory_cacheattr",
         xendevicemodel_pin_memory_cacheattr(h, DOMID, 0xc0000, 0xc7fff, XEN_DMOP_MEM_CACHEATTR_WC));
    CALL("nr_vcpus",
         xendevicemodel_nr_vcpus(h, DOMID, &vcpus));

    if (xendevicemodel_close(h) != 0)
        failures++;
    say("END failures=%d\n", failures);
    return failures == 0 ? 0 : 1;
}
