// The simulated process address space (x86-64 Linux layout) that the
// simulated host's privcmd driver and hypervisor read and write. Backed by one
// native mapping; allocations are handed to JS as zero-copy Buffers plus their
// simulated address. Freeing an allocation (or closing the space) detaches its
// Buffers, so no view can ever reach memory that has gone.
import { types } from 'util';
import { native, type NativeToken } from '../native';
import { Mailbox } from './mailbox';
import { describe, codedError, errnoError, invalidArgument } from '../errors';
import type { Allocation } from '../allocation';

export const PAGE_SIZE = native.constants.pageSize;
/** vm.mmap_min_addr: nothing is ever mapped below 64 KiB. */
export const MMAP_MIN_ADDR = native.constants.mmapMinAddr;
/** TASK_SIZE_MAX: user addresses (and every user buffer) end at or below this. */
export const TASK_SIZE_MAX = native.constants.taskSizeMax;
/** First address of the kernel half; access_ok fails for anything here. */
export const KERNEL_BASE = native.constants.kernelBase;

/** Where the region sits by default: an ordinary user-space mmap address. */
export const DEFAULT_BASE = 0x7f0000000000n;
export const DEFAULT_SIZE = 16 * 1024 * 1024;

export type PageState = 'unmapped' | 'guard' | 'read-only' | 'read-write';
const PAGE_STATES: readonly PageState[] = ['unmapped', 'guard', 'read-only', 'read-write'];

export interface AddressSpaceOptions {
  /** Simulated address of the region (page-aligned, >= 64 KiB). */
  base?: bigint;
  /** Bytes of simulated memory (page multiple, at least two pages). */
  size?: number;
}

export interface AllocOptions {
  /** End the bytes flush against the trailing guard page (off by default). */
  alignEnd?: boolean;
  /** The simulated process sees the pages read-only (the JS view stays writable). */
  readOnly?: boolean;
}

export type { Allocation };

const { isUint8Array } = types;

/** The longest allocation (native/external_buffer.h): a view over more cannot be made. */
const MAX_VIEW_LENGTH = 2 ** 32;

const ALLOC_ALIGN_END = 1;
const ALLOC_READ_ONLY = 2;

export function isU64(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v < 1n << 64n;
}

function checkAddr(syscall: string, what: string, v: unknown): bigint {
  if (!isU64(v)) throw invalidArgument(syscall, `${what} must be a bigint in [0, 2^64), got ${describe(v)}`);
  return v;
}

export class AddressSpace {
  readonly base: bigint;
  readonly size: number;
  #id: number;
  // eslint-disable-next-line no-unused-private-class-members -- held, never read: it keeps the native slot alive
  readonly #token: NativeToken;
  /** Argument/result block of the native fast calls (simulator internals). */
  readonly mailbox: Mailbox;
  // ArrayBuffer of each live allocation -> its simulated address, so a view
  // handed back to us can be used in place (zero-copy) by the simulator.
  readonly #views = new WeakMap<ArrayBufferLike, { addr: bigint; size: number }>();

  private constructor(id: number, token: NativeToken, mailbox: Mailbox, base: bigint, size: number) {
    this.#id = id;
    this.#token = token;
    this.mailbox = mailbox;
    this.base = base;
    this.size = size;
  }

  static create(options: AddressSpaceOptions = {}): AddressSpace {
    if (typeof options !== 'object' || options === null) throw invalidArgument('mmap', `options must be { base?, size? }, got ${describe(options)}`);
    const base = checkAddr('mmap', 'base', options.base ?? DEFAULT_BASE);
    const size = options.size ?? DEFAULT_SIZE;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw invalidArgument('mmap', `size must be a positive integer, got ${describe(size)}`);
    const r = native.spaceCreate(base, size);
    if (typeof r === 'number') {
      throw errnoError(r, 'mmap', `cannot create a ${size}-byte address space at 0x${base.toString(16)}: ` +
        'base and size must be page-aligned, base >= 0x10000, size >= 2 pages, and the region must end at or below 2^47');
    }
    return new AddressSpace(r[0], r[1], new Mailbox(r[2], r[3]), base, size);
  }

  /** The native id, for the simulator's hot paths (statuses, no throws). */
  get id(): number {
    if (this.#id < 0) throw codedError('EBADF', 'address_space', 'the address space is closed');
    return this.#id;
  }

  get closed(): boolean {
    return this.#id < 0;
  }

  alloc(size: number, options: AllocOptions = {}): Allocation {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidArgument('mmap', `size must be a non-negative integer, got ${describe(size)}`);
    if (typeof options !== 'object' || options === null) throw invalidArgument('mmap', `options must be { alignEnd?, readOnly? }, got ${describe(options)}`);
    const flags = (options.alignEnd ? ALLOC_ALIGN_END : 0) | (options.readOnly ? ALLOC_READ_ONLY : 0);
    const r = native.spaceAlloc(this.id, size, flags);
    if (typeof r === 'number') {
      throw errnoError(r, 'mmap', r === -12 && size > MAX_VIEW_LENGTH
        ? `${size} bytes is more than one view can span (${MAX_VIEW_LENGTH} bytes, Node's Buffer limit)`
        : r === -12
        ? `no room for ${size} bytes (+ a guard page) in the ${this.size}-byte address space`
        : `cannot allocate ${size} bytes in a ${this.size}-byte address space`);
    }
    this.#views.set(r.buffer, { addr: r.addr, size });
    return { addr: r.addr, size, view: Buffer.from(r.buffer) };
  }

  /** Unmap an allocation: its pages fault from now on and its views are detached. */
  free(allocation: Allocation | bigint): void {
    // Every read of the caller's object happens before the unmap: a refusal
    // (or a throwing getter) must leave the allocation as it was.
    if (typeof allocation !== 'bigint' && (typeof allocation !== 'object' || allocation === null)) {
      throw invalidArgument('munmap', `allocation must be an Allocation or a bigint address, got ${describe(allocation)}`);
    }
    const addr = checkAddr('munmap', 'address', typeof allocation === 'bigint' ? allocation : allocation.addr);
    const view: unknown = typeof allocation === 'bigint' ? undefined : allocation.view;
    const rc = native.spaceFree(this.id, addr);
    if (rc !== 0) throw errnoError(rc, 'munmap', `0x${addr.toString(16)} is not the start of a live allocation`);
    if (isUint8Array(view)) this.#views.delete(view.buffer);
  }

  /**
   * Detach an allocation's views but keep its pages, for a free that must
   * wait until the simulated kernel is done with them (free() follows).
   */
  detachViews(allocation: Allocation): void {
    const addr = checkAddr('munmap', 'address', allocation?.addr);
    const rc = native.spaceDetach(this.id, addr);
    if (rc !== 0) throw errnoError(rc, 'munmap', `0x${addr.toString(16)} is not the start of a live allocation`);
  }

  /** copy_from_user: read len bytes at addr as the kernel would. */
  read(addr: bigint, len: number): Buffer {
    checkAddr('copy_from_user', 'address', addr);
    if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0) throw invalidArgument('copy_from_user', `length must be a non-negative integer, got ${describe(len)}`);
    const out = Buffer.alloc(len);
    const rc = native.spaceRead(this.id, addr, out);
    if (rc !== 0) throw errnoError(rc, 'copy_from_user', `[0x${addr.toString(16)}, +${len}) is not readable user memory`);
    return out;
  }

  /** copy_to_user: write bytes at addr as the kernel would. */
  write(addr: bigint, bytes: Uint8Array): void {
    checkAddr('copy_to_user', 'address', addr);
    if (!isUint8Array(bytes)) throw invalidArgument('copy_to_user', 'bytes must be a Uint8Array');
    const rc = native.spaceWrite(this.id, addr, bytes);
    if (rc !== 0) throw errnoError(rc, 'copy_to_user', `[0x${addr.toString(16)}, +${bytes.length}) is not writable user memory`);
  }

  pageState(addr: bigint): PageState {
    checkAddr('address_space', 'address', addr);
    const s = native.spacePageState(this.id, addr);
    const state = PAGE_STATES[s];
    if (state === undefined) throw errnoError(s, 'address_space', 'page state unavailable');
    return state;
  }

  /**
   * The simulated address of a view's first byte, if the view lies inside a
   * live allocation of this space (so the simulator can use it in place).
   */
  addressOf(view: Uint8Array): bigint | undefined {
    if (!isUint8Array(view)) return undefined;
    const a = this.#views.get(view.buffer);
    if (a === undefined || view.byteOffset + view.byteLength > a.size) return undefined;
    return a.addr + BigInt(view.byteOffset);
  }

  get liveAllocations(): number {
    return native.spaceLiveAllocations(this.id);
  }

  /** Detach every view and release the mapping. Closing twice is harmless. */
  close(): void {
    if (this.#id < 0) return;
    const rc = native.spaceClose(this.#id);
    if (rc !== 0) throw errnoError(rc, 'munmap', 'a view of this address space could not be detached');
    this.#id = -1;
  }
}
