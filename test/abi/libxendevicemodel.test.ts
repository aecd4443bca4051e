// Our DMOP encoder against Xen's own libxendevicemodel (Debian libxen-dev,
// Xen 4.17): test/abi/xdm-capture/driver.c calls every DM_OP-issuing function
// of the library with distinctive arguments, under LD_PRELOAD of
// test/abi/xdm-capture/interpose.c, which gives the library a dummy
// /dev/xen/privcmd and records the buffers of each IOCTL_PRIVCMD_DM_OP it
// issues. Each call's buffers must equal encodeDmop() of the equivalent
// request: buffer 0 (the whole 32-byte struct xen_dm_op) byte for byte, the
// extra buffers in size, and in content where the library defines it (the
// modified_memory extents; not track_dirty_vram's bitmap, which is the
// caller's output memory).
//
// Skipped, with the reason printed, without xendevicemodel.h or the library,
// except under CI (PRIVCMD_SHIM_REQUIRE_XEN_HEADERS=1), where their absence
// fails, as in test/abi/headers.test.ts.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DMOPS, DOMID } from '../../lib/abi';
import { encodeDmop } from '../../lib/dmop/codec';
import { IOREQ_MEM_ACCESS, XEN_DMOP_NO_GFNS, pciSbdf } from '../../lib/dmop/ops';
import type { DmopRequest } from '../../lib/dmop/types';

const HEADER = '/usr/include/xendevicemodel.h';
const SRC = path.join(__dirname, 'xdm-capture');
const CC = process.env.CC ?? 'cc';
const required = process.env.PRIVCMD_SHIM_REQUIRE_XEN_HEADERS === '1';

/** The library the linker would use, or undefined (also when there is no compiler). */
function findLibrary(): string | undefined {
  try {
    const p = execFileSync(CC, ['-print-file-name=libxendevicemodel.so'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return path.isAbsolute(p) && fs.existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

const haveHeader = fs.existsSync(HEADER);
const library = haveHeader || required ? findLibrary() : undefined;
const available = haveHeader && library !== undefined;

/** driver.c's DOMID: every call targets it. */
const DOMID_USED = 0x1234;

interface Case {
  /** The name driver.c prints before the call: the function without `xendevicemodel_`, then `/variant`. */
  readonly call: string;
  /** What our encoder is given for the same call. */
  readonly request: DmopRequest;
  /** Buffers after 0: compare their content, or only their size (caller's output memory). */
  readonly extras: 'content' | 'size';
}

// In the order driver.c makes the calls, with the same arguments.
const sbdfMap = pciSbdf(0x0001, 0x2a, 0x1c, 5);
const sbdfUnmap = pciSbdf(0xabcd, 0xfe, 0x1f, 7);
const CASES: readonly Case[] = [
  { call: 'create_ioreq_server', request: { op: 'create_ioreq_server', handleBufioreq: 'atomic' }, extras: 'content' },
  { call: 'get_ioreq_server_info/gfns', request: { op: 'get_ioreq_server_info', id: 0x0b7, flags: 0 }, extras: 'content' },
  { call: 'get_ioreq_server_info/ioreq_gfn_only', request: { op: 'get_ioreq_server_info', id: 0x0b8, flags: 0 }, extras: 'content' },
  { call: 'get_ioreq_server_info/no_gfns', request: { op: 'get_ioreq_server_info', id: 0x0b9, flags: XEN_DMOP_NO_GFNS }, extras: 'content' },
  {
    call: 'map_io_range_to_ioreq_server/port',
    request: { op: 'map_io_range_to_ioreq_server', id: 0x0c1, type: 'port', start: 0x3f8n, end: 0x3ffn },
    extras: 'content',
  },
  {
    call: 'map_io_range_to_ioreq_server/memory',
    request: { op: 'map_io_range_to_ioreq_server', id: 0x0c2, type: 'memory', start: 0x123456000n, end: 0x123456fffn },
    extras: 'content',
  },
  {
    call: 'unmap_io_range_from_ioreq_server/port',
    request: { op: 'unmap_io_range_from_ioreq_server', id: 0x0c3, type: 'port', start: 0xcf8n, end: 0xcffn },
    extras: 'content',
  },
  {
    call: 'unmap_io_range_from_ioreq_server/memory',
    request: { op: 'unmap_io_range_from_ioreq_server', id: 0x0c4, type: 'memory', start: 0xfed40000n, end: 0xfed44fffn },
    extras: 'content',
  },
  {
    call: 'map_mem_type_to_ioreq_server',
    request: { op: 'map_mem_type_to_ioreq_server', id: 0x0c5, type: 'ioreq_server', flags: IOREQ_MEM_ACCESS.write },
    extras: 'content',
  },
  // libxendevicemodel sends a PCI range with start == end == the SBDF.
  {
    call: 'map_pcidev_to_ioreq_server',
    request: { op: 'map_io_range_to_ioreq_server', id: 0x0c6, type: 'pci', start: sbdfMap, end: sbdfMap },
    extras: 'content',
  },
  {
    call: 'unmap_pcidev_from_ioreq_server',
    request: { op: 'unmap_io_range_from_ioreq_server', id: 0x0c7, type: 'pci', start: sbdfUnmap, end: sbdfUnmap },
    extras: 'content',
  },
  { call: 'set_ioreq_server_state/on', request: { op: 'set_ioreq_server_state', id: 0x0c8, enabled: true }, extras: 'content' },
  { call: 'set_ioreq_server_state/off', request: { op: 'set_ioreq_server_state', id: 0x0c9, enabled: false }, extras: 'content' },
  { call: 'destroy_ioreq_server', request: { op: 'destroy_ioreq_server', id: 0x0ca }, extras: 'content' },
  {
    call: 'set_pci_intx_level',
    request: { op: 'set_pci_intx_level', domain: 0x0002, bus: 0x33, device: 0x1e, intx: 3, level: 1 },
    extras: 'content',
  },
  { call: 'set_isa_irq_level', request: { op: 'set_isa_irq_level', isaIrq: 11, level: 1 }, extras: 'content' },
  // XEN_DMOP_set_irq_level is Arm's, but the library encodes it on any architecture.
  { call: 'set_irq_level', request: { op: 'set_irq_level', irq: 0x12345, level: 1 }, extras: 'content' },
  { call: 'set_pci_link_route', request: { op: 'set_pci_link_route', link: 2, isaIrq: 10 }, extras: 'content' },
  { call: 'inject_msi', request: { op: 'inject_msi', addr: 0xafee01004n, data: 0x4041 }, extras: 'content' },
  // The bitmap is where Xen writes: only its size ((nr + 7) / 8) is the library's.
  { call: 'track_dirty_vram', request: { op: 'track_dirty_vram', firstPfn: 0xf0000n, nr: 100 }, extras: 'size' },
  { call: 'modified_memory', request: { op: 'modified_memory', extents: [{ firstPfn: 0x12345678n, nr: 0x21 }] }, extras: 'content' },
  {
    call: 'modified_memory_bulk',
    request: {
      op: 'modified_memory',
      extents: [{ firstPfn: 0x100n, nr: 4 }, { firstPfn: 0xabcdef012n, nr: 0x10000 }, { firstPfn: 0x7n, nr: 1 }],
    },
    extras: 'content',
  },
  { call: 'set_mem_type', request: { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 0x987654321n, nr: 0x300 }, extras: 'content' },
  {
    call: 'inject_event/hw_exc',
    request: { op: 'inject_event', vcpuid: 3, vector: 14, type: 'hw_exc', insnLen: 0, errorCode: 0x1b, cr2: 0xdeadb000n },
    extras: 'content',
  },
  {
    call: 'inject_event/sw_int',
    request: { op: 'inject_event', vcpuid: 1, vector: 0x80, type: 'sw_int', insnLen: 2, errorCode: 0xffffffff, cr2: 0n },
    extras: 'content',
  },
  { call: 'shutdown', request: { op: 'remote_shutdown', reason: 'watchdog' }, extras: 'content' },
  {
    call: 'relocate_memory',
    request: { op: 'relocate_memory', size: 0x40, srcGfn: 0x100000123n, dstGfn: 0x200000456n },
    extras: 'content',
  },
  {
    call: 'pin_memory_cacheattr',
    request: { op: 'pin_memory_cacheattr', start: 0xc0000n, end: 0xc7fffn, type: 'wc' },
    extras: 'content',
  },
  { call: 'nr_vcpus', request: { op: 'nr_vcpus' }, extras: 'content' },
];

interface Dmop {
  readonly dom: number;
  readonly num: number;
  readonly bufs: readonly Uint8Array[];
}

interface Call {
  readonly name: string;
  readonly dmops: Dmop[];
  ret?: { rc: number; errno: number };
}

interface Capture {
  readonly status: number | null;
  readonly stderr: string;
  readonly log: string;
  readonly opens: string[];
  /** DM_OP ioctls before the first CALL (xendevicemodel_open's probe). */
  readonly beforeCalls: Dmop[];
  readonly calls: Call[];
  readonly unexpected: string[];
  readonly malformed: string[];
  end?: string;
}

function parseDmop(line: string): Dmop | undefined {
  const m = /^DMOP dom=(\d+) num=(\d+)((?: \d+:[0-9a-f]*)*)$/.exec(line);
  if (m === null) return undefined;
  const bufs = (m[3] as string).trim().split(' ').filter((s) => s !== '').map((s) => {
    const [size, hex] = s.split(':') as [string, string];
    const b = Uint8Array.from(Buffer.from(hex, 'hex'));
    if (b.length !== Number(size)) throw new Error(`capture line has ${b.length} bytes for a ${size}-byte buffer: ${line}`);
    return b;
  });
  return { dom: Number(m[1]), num: Number(m[2]), bufs };
}

function parse(log: string, status: number | null, stderr: string): Capture {
  const cap: Capture = { status, stderr, log, opens: [], beforeCalls: [], calls: [], unexpected: [], malformed: [] };
  let current: Call | undefined;
  for (const line of log.split('\n')) {
    if (line === '' || line === 'OPENED') continue;
    if (line.startsWith('CALL ')) {
      current = { name: line.slice(5), dmops: [] };
      cap.calls.push(current);
    } else if (line.startsWith('RET ')) {
      const m = /^RET (\S+) rc=(-?\d+) errno=(\d+)$/.exec(line);
      if (m === null || current === undefined || m[1] !== current.name) cap.malformed.push(line);
      else current.ret = { rc: Number(m[2]), errno: Number(m[3]) };
    } else if (line.startsWith('DMOP ')) {
      const d = parseDmop(line);
      if (d === undefined) cap.malformed.push(line);
      else (current === undefined ? cap.beforeCalls : current.dmops).push(d);
    } else if (line.startsWith('OPEN ')) {
      cap.opens.push(line);
    } else if (line.startsWith('UNEXPECTED ')) {
      cap.unexpected.push(line);
    } else if (line.startsWith('END ')) {
      cap.end = line;
    } else {
      cap.malformed.push(line);
    }
  }
  return cap;
}

function captureLibrary(): Capture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-xdm-'));
  try {
    const so = path.join(dir, 'interpose.so');
    const driver = path.join(dir, 'driver');
    const log = path.join(dir, 'capture.log');
    const flags = ['-std=gnu11', '-Wall', '-Wextra', '-Werror'];
    execFileSync(CC, [...flags, '-shared', '-fPIC', '-o', so, path.join(SRC, 'interpose.c'), '-ldl'], { stdio: 'pipe' });
    execFileSync(CC, [...flags, '-o', driver, path.join(SRC, 'driver.c'), '-lxendevicemodel'], { stdio: 'pipe' });
    const run = spawnSync(driver, [], {
      env: { ...process.env, LD_PRELOAD: so, XDM_CAPTURE_FILE: log },
      encoding: 'utf8',
      timeout: 20000,
    });
    if (run.error) throw run.error;
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    return parse(text, run.status, run.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 32 bytes as four 8-byte groups, so a diff points at the word that differs. */
function hex(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return (h.match(/.{1,16}/g) ?? []).join(' ');
}

/** The xendevicemodel_* functions the header declares. */
function headerFunctions(): string[] {
  const text = fs.readFileSync(HEADER, 'utf8').replace(/\/\*[^]*?\*\//g, '');
  return [...new Set([...text.matchAll(/\bxendevicemodel_(\w+)\s*\(/g)].map((m) => m[1] as string))].sort();
}

const describeXdm = available || required ? describe : describe.skip;
if (!available && !required) {

  console.warn(`test/abi/libxendevicemodel: skipped because ${haveHeader ? 'libxendevicemodel.so (or a C compiler)' : HEADER} is missing (apt-get install libxen-dev); .ci/run installs it and requires this suite`);
}

describeXdm('encodeDmop matches what libxendevicemodel (Xen 4.17) sends to privcmd', () => {
  let cap: Capture;
  const call = (name: string): Call => {
    const c = cap.calls.find((x) => x.name === name);
    if (c === undefined) throw new Error(`the driver made no call '${name}' (calls: ${cap.calls.map((x) => x.name).join(', ')})`);
    return c;
  };

  beforeAll(() => {
    if (!available) throw new Error(`libxendevicemodel missing (${HEADER} ${haveHeader ? 'present' : 'absent'}, library ${library ?? 'not found by ' + CC}): install libxen-dev`);
    cap = captureLibrary();
  });

  test('the driver ran every call to the end, each returning 0', () => {
    expect({ status: cap.status, end: cap.end, stderr: cap.stderr }).toEqual({ status: 0, end: 'END failures=0', stderr: '' });
    expect(cap.malformed).toEqual([]);
    for (const c of cap.calls) expect({ call: c.name, ret: c.ret }).toEqual({ call: c.name, ret: { rc: 0, errno: 0 } });
  });

  test('the captured calls are exactly the expected list, one DM_OP ioctl each, to the driver\'s domain', () => {
    expect(cap.calls.map((c) => c.name)).toEqual(CASES.map((c) => c.call));
    for (const c of cap.calls) {
      expect({ call: c.name, ioctls: c.dmops.length }).toEqual({ call: c.name, ioctls: 1 });
      for (const d of c.dmops) expect({ call: c.name, dom: d.dom, num: d.num }).toEqual({ call: c.name, dom: DOMID_USED, num: d.bufs.length });
    }
  });

  test('the list covers every DM_OP function the header declares, and every op we encode', () => {
    const notDmop = ['open', 'close', 'restrict'];
    const declared = headerFunctions().filter((f) => !notDmop.includes(f));
    expect([...new Set(CASES.map((c) => c.call.split('/')[0] as string))].sort()).toEqual(declared);
    expect([...new Set(CASES.map((c) => c.request.op))].sort()).toEqual(DMOPS.map((d) => d.name).sort());
  });

  test('xendevicemodel_open probes DM_OP (DOMID_INVALID, no buffers) and nothing else reaches privcmd', () => {
    expect(cap.beforeCalls).toEqual([{ dom: DOMID.INVALID, num: 0, bufs: [] }]);
    expect(cap.unexpected).toEqual([]);
    // libxencall's handle and libxendevicemodel's own both open privcmd;
    // /dev/xen/hypercall is refused (ENOENT), and libxencall copes.
    expect(cap.opens.filter((l) => l.startsWith('OPEN /dev/xen/privcmd ')).length).toBe(2);
  });

  test.each(CASES.map((c) => [c.call, c] as const))('%s', (_n, c) => {
    const d = call(c.call).dmops[0];
    expect(d).toBeDefined();
    if (d === undefined) return;
    const ours = encodeDmop(c.request);
    const theirs = d.bufs;
    expect({ call: c.call, buffers: theirs.length }).toEqual({ call: c.call, buffers: ours.length });
    expect({ call: c.call, buf0: hex(theirs[0] as Uint8Array) }).toEqual({ call: c.call, buf0: hex(ours[0] as Uint8Array) });
    for (let i = 1; i < ours.length; i++) {
      const a = theirs[i];
      const b = ours[i] as Uint8Array;
      expect({ call: c.call, buffer: i, size: a?.length }).toEqual({ call: c.call, buffer: i, size: b.length });
      if (c.extras === 'content' && a !== undefined) {
        expect({ call: c.call, buffer: i, bytes: hex(a) }).toEqual({ call: c.call, buffer: i, bytes: hex(b) });
      }
    }
  });
});
