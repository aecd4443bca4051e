// What a Privcmd handle needs from the thing behind it: the real
// /dev/xen/privcmd (device backend) or a process on a simulated host. Each
// method is one ioctl; it answers with an Outcome, its result (negative
// errno values on failure, never exceptions) and the reason for a failure
// taken when the call finished, so the handle can build one error with the
// whole context, the same way for sync and async calls.
import type { Allocation } from '../allocation';
import type { FilterContext } from '../policy/filter';
import type { ProcessSelector } from '../handle-registry';
import type { NativeMapping } from '../native';
import type { EvtchnBackend } from './evtchn-backend';

/** A mapping a backend made: the native object, and (simulated host) how its pages are let go. */
export interface BackendMapping {
  readonly native: NativeMapping;
  readonly release?: () => void;
}

/** A DM_OP buffer: caller memory, or (simulated host only) an address range in it. */
export type BufferArg = Uint8Array | { readonly addr: bigint; readonly size: bigint | number };

/**
 * A call's result with the reason for its failure ('' when it succeeded, or
 * when the backend knows none), taken when the call finished. The reason
 * travels with the result rather than in shared state of the backend: by the
 * time an async caller's await resumes, the handle may have made other calls
 * or been closed.
 */
export interface Outcome<T> {
  readonly result: T;
  readonly why: string;
}

/** The outcome of a call that answered 0, shared so that the hot path allocates nothing. */
export const DONE: Outcome<number> = Object.freeze({ result: 0, why: '' });

export interface Backend {
  readonly kind: 'simulated' | 'device';
  /** Whether DM_OP buffers may be given as { addr, size } (simulated host; test-only on a device). */
  readonly rawPointers: boolean;
  /** The domain the handle was restricted to when it opened (a restricted process), or null. */
  readonly restrictedAtOpen: number | null;
  /** IOCTL_PRIVCMD_RESTRICT: 0 or -errno. */
  restrict(domid: number): Outcome<number>;
  /** IOCTL_PRIVCMD_DM_OP: 0 (or Xen's non-negative result) or -errno. */
  dmOp(domid: number, buffers: readonly BufferArg[]): Outcome<number>;
  /** IOCTL_PRIVCMD_HYPERCALL: Xen's result (negative = -errno). */
  hypercall(op: number, args: readonly bigint[]): Outcome<bigint>;
  /** IOCTL_PRIVCMD_MMAP_RESOURCE's size query: frames, or -errno. */
  resourceSize(domid: number, type: number, id: number): Outcome<number>;
  /** mmap of the device, then IOCTL_PRIVCMD_MMAP_RESOURCE: the mapping, or -errno. */
  mapResource(domid: number, type: number, id: number, frame: number, count: number, writable: boolean): Outcome<BackendMapping | number>;
  /**
   * mmap, then IOCTL_PRIVCMD_MMAPBATCH_V2; errs gets each page's errno (0 or
   * negative). The mapping (its `why`: what the failed pages met, if the
   * backend knows), or -errno.
   */
  mapForeign(domid: number, gfns: BigUint64Array, errs: Int32Array, writable: boolean): Outcome<BackendMapping | number>;
  /** The same ioctls off the event loop (the thread pool on a device); buffers stay alive until done. */
  dmOpAsync(domid: number, buffers: readonly BufferArg[]): Promise<Outcome<number>>;
  hypercallAsync(op: number, args: readonly bigint[]): Promise<Outcome<bigint>>;
  /** Memory a hypercall may dereference (hypercall-safe on a real host). */
  allocHypercallBuffer(size: number): Allocation;
  freeHypercallBuffer(buffer: Allocation): void;
  /** What a filter may know of the caller: its domain (if known) and how to read its memory. */
  readonly filterContext: FilterContext;
  /** Write the caller's memory as the kernel would (false: not writable through this backend). */
  writeCaller(addr: bigint, src: Uint8Array): boolean;
  /** Kernel-readable memory the handle owns for the length of one call (copy-once snapshots). */
  allocPrivate(size: number): Allocation;
  freePrivate(a: Allocation): void;
  /** Memory for buffer 0 of typed DMOPs that the backend can use in place. */
  scratch(size: number): Uint8Array;
  /** The process the handle belongs to: which registry restrictAll covers it in. */
  readonly process: ProcessSelector;
  /** The device's file descriptor, or null (a simulated process has none). */
  descriptor(): number | null;
  close(): void;
}

// Backends this module's classes made, of which kind, and what became of
// them: open() or openEventChannels() claims one (identity, not instanceof,
// which a Proxy or Object.create passes), then the handle it builds binds
// it. Each is claimed and bound at most once (two handles on one backend
// would close it twice), and a handle cannot be built on a backend its
// open function did not claim (it would join no registry, so restrictAll
// would not cover it).
const made = new WeakMap<object, 'privcmd' | 'evtchn'>();
const owner = new WeakMap<object, object | null>();

/** @internal Called by each privcmd backend's constructor. */
export function madeBackend(b: Backend): void {
  made.set(b, 'privcmd');
}

/** @internal Called by each event-channel backend's constructor. */
export function madeEvtchnBackend(b: EvtchnBackend): void {
  made.set(b, 'evtchn');
}

function claim(b: unknown, kind: 'privcmd' | 'evtchn'): boolean {
  if (typeof b !== 'object' || b === null || made.get(b) !== kind || owner.has(b)) return false;
  owner.set(b, null);
  return true;
}

/** Claim a privcmd backend for one handle: false if it is not one of ours, or already taken. */
export function claimBackend(b: unknown): b is Backend {
  return claim(b, 'privcmd');
}

/** Claim an event-channel backend for one handle: false if it is not one of ours, or already taken. */
export function claimEvtchnBackend(b: unknown): b is EvtchnBackend {
  return claim(b, 'evtchn');
}

/** Bind a claimed backend to the handle built on it: false if unclaimed or already bound. */
export function bindBackend(b: Backend | EvtchnBackend, handle: object): boolean {
  if (owner.get(b) !== null) return false;
  owner.set(b, handle);
  return true;
}
