// xen_version (do_xen_version in xen/common/kernel.c, Xen 4.17), command by
// command. xsm_xen_version does not refuse: a denied command answers
// "<denied>" (or nothing), and only XENVER_build_id turns a denial into
// -EPERM. Copies go through the caller's simulated address space.
import { native } from '../native';
import type { Domain } from './domain';

export interface XenVersion {
  major: number;
  minor: number;
  extra: string;
  capabilities: string;
}

export interface XenVersionEnv {
  readonly version: XenVersion;
  readonly spaceId: number;
  readonly caller: Domain;
  /** xsm_xen_version refused the command. */
  readonly deny: boolean;
  fail(code: 'EFAULT' | 'EINVAL' | 'ENOBUFS' | 'EPERM' | 'ENOSYS', why: string): number;
}

/** HYPERVISOR_VIRT_START on x86-64: the start of Xen's range in a PV guest. */
const HYPERVISOR_VIRT_START = 0xffff800000000000n;
const PAGE_SIZE = 4096n;
const DENIED = '<denied>';
// What a Debian build of Xen reports (the values are per build; the fidelity
// suite compares only that they are non-empty strings).
const COMPILE_INFO = { compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', by: 'pkg-xen-devel', domain: 'lists.alioth.debian.org', date: 'Tue Jan  1 00:00:00 UTC 2026' };
/** Debian's build has no changeset: the real host answers an empty string. */
const CHANGESET = '';
const COMMAND_LINE = 'console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M';
/** A GNU build id: a SHA-1, 20 bytes. */
const BUILD_ID = new Uint8Array(20).map((_, i) => (i * 37 + 11) & 0xff);
/** XENFEAT_* bit numbers (xen/include/public/features.h). */
const FEAT = {
  writable_page_tables: 0, auto_translated_physmap: 2, mmu_pt_update_preserve_ad: 5, highmem_assist: 6,
  gnttab_map_avail_bits: 7, hvm_callback_vector: 8, hvm_safe_pvclock: 9, dom0: 11, memory_op_vnode_supported: 13,
  pae_pgdir_above_4gb: 4, not_direct_mapped: 16, direct_mapped: 17,
} as const;

/** `len` bytes holding `s` NUL-padded (safe_strcpy: at most len - 1 characters). */
function cstr(s: string, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(new TextEncoder().encode(s).subarray(0, len - 1));
  return out;
}

/** XENVER_get_features, submap 0, for the calling domain. */
function features(d: Domain): number {
  let m = 1 << FEAT.memory_op_vnode_supported;
  const translated = d.isHvm;
  // VM_ASSIST(pae_extended_cr3): a PV dom0 built from Linux gets it from its ELF notes (dom0_build.c).
  if (!d.isHvm && d.domid === 0) m |= 1 << FEAT.pae_pgdir_above_4gb;
  if (translated) m |= (1 << FEAT.writable_page_tables) | (1 << FEAT.auto_translated_physmap);
  if (d.isHardware) m |= 1 << FEAT.dom0;
  if (!d.isHvm) m |= (1 << FEAT.mmu_pt_update_preserve_ad) | (1 << FEAT.highmem_assist) | (1 << FEAT.gnttab_map_avail_bits);
  else m |= (1 << FEAT.hvm_safe_pvclock) | (1 << FEAT.hvm_callback_vector);
  m |= translated ? 1 << FEAT.not_direct_mapped : 1 << FEAT.direct_mapped;
  return m >>> 0;
}

export function doXenVersion(env: XenVersionEnv, cmd: number, arg: bigint): bigint {
  const { version: v, deny, spaceId } = env;
  const put = (bytes: Uint8Array): bigint =>
    native.spaceWrite(spaceId, arg, bytes) === 0 ? 0n : BigInt(env.fail('EFAULT', `cannot write ${bytes.length} bytes at 0x${arg.toString(16)}`));
  switch (cmd) {
    case 0: // XENVER_version
      return BigInt((v.major << 16) | v.minor);
    case 1: // XENVER_extraversion
      return put(cstr(deny ? DENIED : v.extra, 16));
    case 2: { // XENVER_compile_info
      const info = new Uint8Array(144);
      const s = (x: string) => (deny ? DENIED : x);
      info.set(cstr(s(COMPILE_INFO.compiler), 64), 0);
      info.set(cstr(s(COMPILE_INFO.by), 16), 64);
      info.set(cstr(s(COMPILE_INFO.domain), 32), 80);
      info.set(cstr(s(COMPILE_INFO.date), 32), 112);
      return put(info);
    }
    case 3: // XENVER_capabilities
      return put(cstr(deny ? '' : v.capabilities, 1024));
    case 4: // XENVER_changeset
      return put(cstr(deny ? DENIED : CHANGESET, 64));
    case 5: { // XENVER_platform_parameters: not checked by XSM
      const p = new Uint8Array(8);
      new DataView(p.buffer).setBigUint64(0, HYPERVISOR_VIRT_START, true);
      return put(p);
    }
    case 6: { // XENVER_get_features: not checked by XSM
      const fi = new Uint8Array(8);
      if (native.spaceRead(spaceId, arg, fi) !== 0) return BigInt(env.fail('EFAULT', `the xen_feature_info at 0x${arg.toString(16)} is not readable`));
      const dv = new DataView(fi.buffer);
      const idx = dv.getUint32(0, true);
      if (idx !== 0) return BigInt(env.fail('EINVAL', `feature submap ${idx} does not exist`));
      dv.setUint32(4, features(env.caller), true);
      return put(fi);
    }
    case 7: // XENVER_pagesize
      if (deny) return 0n;
      return arg !== 0n ? BigInt(env.fail('EINVAL', 'XENVER_pagesize takes a NULL argument')) : PAGE_SIZE;
    case 8: // XENVER_guest_handle: the caller's domain handle (the toolstack's UUID; zero for dom0)
      return put(new Uint8Array(16));
    case 9: { // XENVER_commandline: the whole saved_cmdline[1024], or "<denied>" with its NUL
      return put(deny ? cstr(DENIED, DENIED.length + 1) : cstr(COMMAND_LINE, 1024));
    }
    case 10: { // XENVER_build_id
      if (deny) return BigInt(env.fail('EPERM', 'XENVER_build_id is for privileged domains (xsm_xen_version: XSM_PRIV)'));
      let len = 0;
      if (arg !== 0n) {
        const hdr = new Uint8Array(4);
        if (native.spaceRead(spaceId, arg, hdr) !== 0) return BigInt(env.fail('EFAULT', `the xen_build_id at 0x${arg.toString(16)} is not readable`));
        len = new DataView(hdr.buffer).getUint32(0, true);
        if (len === 0) return BigInt(env.fail('EINVAL', 'xen_build_id.len is 0'));
      }
      const sz = BigInt(BUILD_ID.length);
      if (arg === 0n) return sz;
      if (BUILD_ID.length > len) return BigInt(env.fail('ENOBUFS', `the build id has ${sz} bytes; the buffer holds ${len}`));
      if (native.spaceWrite(spaceId, arg + 4n, BUILD_ID) !== 0) return BigInt(env.fail('EFAULT', 'cannot write the build id'));
      return sz;
    }
    default:
      return BigInt(env.fail('ENOSYS', `xen_version command ${cmd} does not exist`));
  }
}
