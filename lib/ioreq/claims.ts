// Which device answers which access: the ranges a device model claimed, per
// kind, as Xen's ioreq server rangesets hold them (xen/common/ioreq.c:
// ioreq_server_map_io_range refuses an overlap with EEXIST). A device sees
// offsets from the start of its claim and knows nothing of Xen.
import { codedError, describe, invalidArgument } from '../errors';
import { type IoSize } from './request';

/**
 * A device: reads and writes of `size` bytes at `offset` into its claim.
 * Values are numbers for sizes 1, 2 and 4, and bigints for size 8. A read
 * returns the value (a number or bigint that fits `size` bytes); anything
 * else, or a throw, is answered with all-ones and reported.
 */
export interface IoDevice {
  read(offset: number, size: IoSize): number | bigint;
  write(offset: number, size: IoSize, value: number | bigint): void;
}

export type ClaimKind = 'port' | 'mmio' | 'pci';

export interface Claim {
  readonly kind: ClaimKind;
  /** Inclusive bounds: ports, guest physical addresses, or one PCI SBDF (start === end). */
  readonly start: bigint;
  readonly end: bigint;
  readonly device: IoDevice;
}

const LIMIT: Readonly<Record<ClaimKind, bigint>> = { port: 0xffffn, mmio: (1n << 64n) - 1n, pci: 0xffffffffn };

function bound(v: unknown, what: string, kind: ClaimKind, syscall: string): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw invalidArgument(syscall, `${what} must be an integer or bigint, got ${describe(v)}`);
  if (b < 0n || b > LIMIT[kind]) throw invalidArgument(syscall, `${what} ${b} is outside [0, ${LIMIT[kind]}] for a ${kind} claim`);
  return b;
}

function isDevice(d: unknown): d is IoDevice {
  return typeof d === 'object' && d !== null && typeof (d as IoDevice).read === 'function' && typeof (d as IoDevice).write === 'function';
}

export class ClaimTable {
  private readonly claims: Record<ClaimKind, Claim[]> = { port: [], mmio: [], pci: [] };
  /** The port claims' bounds as numbers (ports fit 16 bits), in the order of claims.port: the engine's BigInt-free path. */
  private portBounds: number[] = [];

  /** Validates and records a claim; EINVAL for bad bounds or device, EEXIST for an overlap. */
  add(kind: ClaimKind, start: unknown, end: unknown, device: unknown, syscall: string): Claim {
    const s = bound(start, 'start', kind, syscall);
    const e = bound(end, 'end', kind, syscall);
    if (e < s) throw invalidArgument(syscall, `end ${e} is below start ${s}`);
    // Offsets reach devices as numbers.
    if (e - s > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(syscall, `a claim spans at most 2^53 addresses, not ${e - s + 1n}`);
    if (!isDevice(device)) throw invalidArgument(syscall, `the device must have read() and write(), got ${describe(device)}`);
    const clash = this.claims[kind].find((c) => c.start <= e && s <= c.end);
    if (clash !== undefined) throw codedError('EEXIST', syscall, `${kind} [${s}, ${e}] overlaps the claim [${clash.start}, ${clash.end}]`);
    const claim: Claim = { kind, start: s, end: e, device };
    this.claims[kind].push(claim);
    if (kind === 'port') this.portBounds.push(Number(s), Number(e));
    return claim;
  }

  /** Forgets a claim; false if it was not held (already released). */
  remove(claim: Claim): boolean {
    const list = this.claims[claim.kind];
    const i = list.indexOf(claim);
    if (i < 0) return false;
    list.splice(i, 1);
    if (claim.kind === 'port') this.portBounds.splice(2 * i, 2);
    return true;
  }

  find(kind: ClaimKind, addr: bigint): Claim | undefined {
    for (const c of this.claims[kind]) if (addr >= c.start && addr <= c.end) return c;
    return undefined;
  }

  /** The port claim holding `port` and `port`'s offset into it (index 0 and 1 of `out`), or undefined; allocates nothing. */
  findPort(port: number, out: number[]): Claim | undefined {
    const b = this.portBounds;
    for (let i = 0; i < b.length; i += 2) {
      const s = b[i] as number;
      if (port >= s && port <= (b[i + 1] as number)) {
        out[0] = port - s;
        return this.claims.port[i / 2];
      }
    }
    return undefined;
  }

  all(): Claim[] {
    return [...this.claims.port, ...this.claims.mmio, ...this.claims.pci];
  }
}
