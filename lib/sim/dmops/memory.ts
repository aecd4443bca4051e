// Memory DMOPs (Xen 4.17 xen/arch/x86/hvm/dm.c, mm/hap/hap.c, hvm/mtrr.c):
// track_dirty_vram, modified_memory, set_mem_type, relocate_memory,
// pin_memory_cacheattr. Like Xen, set_mem_type, modified_memory and
// relocate_memory work page by page and keep what they did before a failure.
import { HVMMEM } from '../../dmop/ops';
import type { Domain, P2mType } from '../domain';
import { fail, fields, pfnNumber, type DmopHandler } from './context';
import { DMOP_STRUCTS } from '../../abi/layouts';
import { DMOP_LIMITS } from '../../abi/dmops';

const VRAM = fields('xen_dm_op_track_dirty_vram');
const MODIFIED = fields('xen_dm_op_modified_memory');
const MEMTYPE = fields('xen_dm_op_set_mem_type');
const RELOCATE = fields('xen_dm_op_relocate_memory');
const CACHEATTR = fields('xen_dm_op_pin_memory_cacheattr');
const EXTENT_SIZE = DMOP_STRUCTS.xen_dm_op_modified_memory_extent.size;
/** GB(1) >> PAGE_SHIFT: the most pages track_dirty_vram follows. */
const VRAM_MAX_PAGES = DMOP_LIMITS.trackDirtyVramMaxPages;
/** The pinned cache-attribute ranges a domain may have (hvm_set_mem_pinned_cacheattr). */
const MAX_CACHEATTR_PINS = 64;

/** INVALID_GFN (~0UL). */
const INVALID_GFN = (1n << 64n) - 1n;
/** Frames a 4-level EPT (or NPT) p2m maps: 48-bit guest-physical addresses, gfn >> 36 == 0. */
const MAX_GFN = 2 ** 36;

/** domain_get_maximum_gpfn. */
const maxGpfn = (d: Domain) => d.maxMappedPfn;

export const trackDirtyVram: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  if (VRAM.pad!.get(u)) return fail(ctx, 'EINVAL', 'track_dirty_vram: pad must be zero');
  if (ctx.nrBufs < 2) return fail(ctx, 'EINVAL', 'track_dirty_vram needs a second buffer for the dirty bitmap');
  const nr = VRAM.nr!.get(u);
  const first = pfnNumber(VRAM.first_pfn!.big.get(u));
  if (nr > VRAM_MAX_PAGES) return fail(ctx, 'EINVAL', `track_dirty_vram: ${nr} pages is more than 1 GiB (262144)`);
  if (d.dying) return fail(ctx, 'ESRCH', `domain ${d.domid} is dying`);
  if (d.maxVcpus === 0) return fail(ctx, 'EINVAL', `domain ${d.domid} has no vCPU 0`);
  const size = Math.ceil(nr / 8);
  if (BigInt(size) > (ctx.bufs.size(1) ?? 0n)) return fail(ctx, 'EINVAL', `track_dirty_vram: the bitmap buffer holds ${ctx.bufs.size(1)} bytes, ${size} needed`);
  if (nr === 0) {
    // Zero pages: stop tracking; the range's pages go back to ram_rw.
    unprotect(d);
    d.vram = null;
    return 0;
  }
  // hap_track_dirty_vram tracks the range with p2m_ram_logdirty pages; it
  // does not turn on the domain's log-dirty mode (seen on Xen 4.17.7).
  const bitmap = new Uint8Array(size);
  if (d.vram === null || d.vram.firstPfn !== first || d.vram.nr !== nr) {
    // A new range: every page counts as dirty (Xen memsets the whole bitmap,
    // bits past nr included).
    unprotect(d);
    d.vram = { firstPfn: first, nr, dirty: new Set() };
    bitmap.fill(0xff);
  } else {
    for (const pfn of d.vram.dirty) bitmap[(pfn - first) >> 3]! |= 1 << ((pfn - first) & 7);
    d.vram.dirty.clear();
  }
  // The range's RAM is write-protected again (p2m_ram_logdirty) until the
  // next write. change_type_range (xen/arch/x86/mm/p2m.c) clips the range to
  // max_mapped_pfn; a range that is then a single page stays ram_rw (seen on
  // the real host, Xen 4.17.7 on AMD NPT, for [256, +1) and for ranges
  // clipped to the last gfn; the cause in p2m-pt.c's recalc is not traced).
  const end = Math.min(first + nr, d.maxMappedPfn + 1);
  if (end - first > 1) for (let pfn = first; pfn < end; pfn++) if (d.p2m.get(pfn) === 'ram_rw') d.logdirtyPages.add(pfn);
  const rc = ctx.bufs.copyTo(1, 0, bitmap);
  return rc ? fail(ctx, 'EFAULT', 'track_dirty_vram: the bitmap buffer is not writable') : 0;
};

/** A dropped dirty-VRAM range goes back to ram_rw (unless log-dirty mode keeps it protected). */
function unprotect(d: Domain): void {
  if (d.vram === null || d.logDirty) return;
  for (let pfn = d.vram.firstPfn; pfn < d.vram.firstPfn + d.vram.nr; pfn++) d.logdirtyPages.delete(pfn);
}

export const modifiedMemory: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  let rem = MODIFIED.nr_extents!.get(u);
  let done = MODIFIED.opaque!.get(u);
  // XSA-506, in Debian's 4.17.7: the buffer count is checked first, before
  // the log-dirty test (seen on the real host).
  if (ctx.nrBufs !== 2) return fail(ctx, 'EINVAL', `modified_memory needs exactly 2 buffers, got ${ctx.nrBufs}`);
  if (!d.logDirty) return 0; // not in log-dirty mode: nothing to record
  const have = ctx.bufs.size(1) ?? 0n;
  if (have / BigInt(EXTENT_SIZE) < BigInt(rem)) return fail(ctx, 'EINVAL', `modified_memory: buffer 1 holds ${have / BigInt(EXTENT_SIZE)} extents, nr_extents is ${rem}`);
  while (rem > 0) {
    const raw = ctx.bufs.copyFrom(1, (rem - 1) * EXTENT_SIZE, EXTENT_SIZE);
    if (typeof raw === 'number') return fail(ctx, 'EFAULT', `modified_memory: extent ${rem - 1} is not readable`);
    const ev = new DataView(raw.buffer, raw.byteOffset, EXTENT_SIZE);
    const nr = ev.getUint32(0, true);
    if (ev.getUint32(4, true)) return fail(ctx, 'EINVAL', `modified_memory: extent ${rem - 1} has a non-zero pad`);
    const firstBig = ev.getBigUint64(8, true);
    const endBig = firstBig + BigInt(nr);
    if (endBig <= firstBig || endBig >= 1n << 64n || endBig > BigInt(maxGpfn(d))) {
      return fail(ctx, 'EINVAL', `modified_memory: extent ${rem - 1} [0x${firstBig.toString(16)}, +${nr}) is empty or ends beyond the domain's highest gpfn 0x${maxGpfn(d).toString(16)}`);
    }
    if (done >= nr) return fail(ctx, 'EINVAL', `modified_memory: opaque ${done} is not below extent ${rem - 1}'s ${nr} pages`);
    const first = Number(firstBig);
    for (let pfn = first + done; pfn < first + nr; pfn++) {
      if (d.p2m.has(pfn)) d.dirtyLog.add(pfn); // paging_mark_pfn_dirty, populated pages only
    }
    rem -= 1;
    done = 0;
  }
  return 0;
};

/** allow_p2m_type_change(old, new); old undefined = p2m_invalid (a hole). */
function allowTypeChange(old: P2mType | undefined, next: P2mType | undefined): boolean {
  if (next === 'ioreq_server') return old === 'ram_rw';
  if (old === 'ioreq_server') return next === 'ram_rw';
  const isRam = old === 'ram_rw' || old === 'ram_ro';
  const isHole = old === undefined || old === 'mmio_dm';
  return isRam || (isHole && next === 'mmio_dm');
}

const MEMTYPES: readonly (P2mType | undefined)[] = ['ram_rw', 'ram_ro', 'mmio_dm', undefined, 'ioreq_server'];

export const setMemType: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  ctx.constOp = false;
  if (MEMTYPE.pad!.get(u)) return fail(ctx, 'EINVAL', 'set_mem_type: pad must be zero');
  const nr = MEMTYPE.nr!.get(u);
  const firstBig = MEMTYPE.first_pfn!.big.get(u);
  const lastBig = (firstBig + BigInt(nr) - 1n) & ((1n << 64n) - 1n);
  if (firstBig > lastBig || lastBig > BigInt(maxGpfn(d))) {
    return fail(ctx, 'EINVAL', `set_mem_type: [0x${firstBig.toString(16)}, +${nr}) is empty or goes beyond the highest gpfn 0x${maxGpfn(d).toString(16)}`);
  }
  const memType = MEMTYPE.mem_type!.get(u);
  if (memType >= MEMTYPES.length || memType === HVMMEM.unused) return fail(ctx, 'EINVAL', `set_mem_type: mem_type ${memType} is not ram_rw, ram_ro, mmio_dm or ioreq_server`);
  const next = MEMTYPES[memType];
  if (memType === HVMMEM.ioreq_server) {
    if (!d.hap) return fail(ctx, 'EOPNOTSUPP', `HVMMEM_ioreq_server needs HAP; domain ${d.domid} has none`);
    if (d.p2mIoreq === null) return fail(ctx, 'EINVAL', 'set_mem_type: no ioreq server has claimed HVMMEM_ioreq_server');
  }
  const first = Number(firstBig);
  for (let i = 0; i < nr; i++) {
    const pfn = first + i;
    const old = d.p2m.get(pfn);
    if (!allowTypeChange(old, next)) {
      return fail(ctx, 'EINVAL', `set_mem_type: pfn 0x${pfn.toString(16)} cannot change from ${old ?? 'a hole'} to ${next}`);
    }
    if (next === undefined) d.p2m.delete(pfn);
    else d.p2m.set(pfn, next);
    d.logdirtyPages.delete(pfn);
  }
  return 0;
};

export const relocateMemory: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  if (RELOCATE.pad!.get(u)) return fail(ctx, 'EINVAL', 'relocate_memory: pad must be zero');
  let size = RELOCATE.size!.get(u);
  let srcBig = RELOCATE.src_gfn!.big.get(u);
  let dstBig = RELOCATE.dst_gfn!.big.get(u);
  // dm.c hands the op to xenmem_add_to_physmap (xen/common/memory.c) in a
  // struct xen_add_to_physmap whose size is a u16: it moves size & 0xffff
  // pages, and when that differs from size, continues (-ERESTART) with the
  // rest; a chunk of 0 ends the op with 0. So 0x10000 pages move none, and
  // 0x10001 one (seen on the real host).
  for (;;) {
    const chunk = size & 0xffff;
    // INVALID_GFN as the destination is -EINVAL, a range that wraps -EOVERFLOW.
    if (dstBig === INVALID_GFN) return fail(ctx, 'EINVAL', 'relocate_memory: dst_gfn is INVALID_GFN');
    if (srcBig + BigInt(chunk) > INVALID_GFN || dstBig + BigInt(chunk) > INVALID_GFN) {
      return fail(ctx, 'EOVERFLOW', `relocate_memory: [0x${srcBig.toString(16)}, +${chunk}) -> 0x${dstBig.toString(16)} wraps`);
    }
    const src = pfnNumber(srcBig);
    const dst = pfnNumber(dstBig);
    // XENMAPSPACE_gmfn_range, one gfn at a time; pages moved before a failure stay moved.
    for (let i = 0; i < chunk; i++) {
      const type = d.p2m.get(src + i);
      if (type === undefined || type === 'mmio_dm') return fail(ctx, 'EINVAL', `relocate_memory: source gfn 0x${(src + i).toString(16)} holds no page`);
      // xenmem_add_to_physmap_one unmaps the page from its old gfn before
      // it maps it at the new one; a destination beyond the p2m's reach is
      // then -ENOENT and the page is gone from the guest (seen on the real
      // host, Xen 4.17.7 on AMD NPT).
      d.p2m.delete(src + i);
      d.logdirtyPages.delete(src + i);
      if (dst + i >= MAX_GFN) return fail(ctx, 'ENOENT', `relocate_memory: destination gfn 0x${(dstBig + BigInt(i)).toString(16)} is beyond the guest-physical address width (gfns end at 0x${MAX_GFN.toString(16)}); the source page is lost, as on Xen`);
      // guest_physmap_add_page maps it as ordinary RAM, whatever its old type.
      d.p2m.set(dst + i, 'ram_rw');
      d.logdirtyPages.delete(dst + i);
      if (dst + i > d.maxMappedPfn) d.maxMappedPfn = dst + i;
    }
    if (chunk === size || chunk === 0) return 0;
    // -ERESTART: the progress goes back into buffer 0, and Xen calls again.
    size -= chunk;
    srcBig += BigInt(chunk);
    dstBig += BigInt(chunk);
    RELOCATE.size!.set(u, size);
    RELOCATE.src_gfn!.big.set(u, srcBig);
    RELOCATE.dst_gfn!.big.set(u, dstBig);
    ctx.constOp = false;
  }
};

const CACHE_TYPES = new Set([0, 1, 4, 5, 6, 7]);
const DELETE = 0xffffffff;

export const pinMemoryCacheattr: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  if (CACHEATTR.pad!.get(u)) return fail(ctx, 'EINVAL', 'pin_memory_cacheattr: pad must be zero');
  const start = CACHEATTR.start!.big.get(u);
  const end = CACHEATTR.end!.big.get(u);
  const type = CACHEATTR.type!.get(u);
  const paddrBits = BigInt(ctx.host.paddrBits);
  if (end < start || (start | end) >> paddrBits) return fail(ctx, 'EINVAL', `pin_memory_cacheattr: [0x${start.toString(16)}, 0x${end.toString(16)}] is reversed or beyond ${paddrBits} address bits`);
  const pins = d.cacheattrPins;
  if (type === DELETE) {
    const i = pins.findIndex((p) => p.start === start && p.end === end);
    if (i < 0) return fail(ctx, 'ENOENT', `pin_memory_cacheattr: no pinned range [0x${start.toString(16)}, 0x${end.toString(16)}] to delete`);
    pins.splice(i, 1);
    return 0;
  }
  if (!CACHE_TYPES.has(type)) return fail(ctx, 'EINVAL', `pin_memory_cacheattr: type ${type} is not UC, WC, WT, WP, WB or UC-`);
  for (const p of pins) {
    if (p.start === start && p.end === end) {
      p.type = type;
      return 0;
    }
    if (p.start <= end && start <= p.end) return fail(ctx, 'EBUSY', `pin_memory_cacheattr: overlaps the pinned range [0x${p.start.toString(16)}, 0x${p.end.toString(16)}]`);
  }
  if (pins.length >= MAX_CACHEATTR_PINS) return fail(ctx, 'ENOSPC', `pin_memory_cacheattr: domain ${d.domid} already has ${MAX_CACHEATTR_PINS} pinned ranges`);
  pins.push({ start, end, type });
  return 0;
};
