// Holds every libuv thread-pool thread so that an async native call stays
// queued (in flight, not yet run) until release(): each thread blocks in
// open(2) of a FIFO that has no writer yet. libuv runs work in FIFO order, so
// a call queued after block() cannot start before release(). Deterministic:
// no timing is involved.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Blocked {
  release(): Promise<void>;
}

export function blockThreadPool(): Blocked {
  const n = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-pool-'));
  const fifos = Array.from({ length: n }, (_, i) => path.join(dir, `f${i}`));
  execFileSync('mkfifo', fifos);
  const readers = fifos.map((f) => fs.promises.open(f, 'r'));
  return {
    async release() {
      // O_RDWR on a FIFO never blocks on Linux and counts as a writer, so
      // each blocked reader's open returns.
      const writers = fifos.map((f) => fs.openSync(f, 'r+'));
      for (const h of await Promise.all(readers)) await h.close();
      for (const w of writers) fs.closeSync(w);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether [addr, addr + 1) is mapped in this process (/proc/self/maps). */
export function isMapped(addr: bigint): boolean {
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m && BigInt(`0x${m[1]}`) <= addr && addr < BigInt(`0x${m[2]}`)) return true;
  }
  return false;
}

/**
 * Start an async call with the thread pool held, run `meanwhile` while it is
 * still queued, then let the pool go (also when `meanwhile` throws, so a
 * failing assertion cannot wedge the process). Returns the call's promise.
 */
export async function whileQueued<T>(start: () => Promise<T>, meanwhile: () => void): Promise<{ call: Promise<T> }> {
  const pool = blockThreadPool();
  let p: Promise<T> | undefined;
  try {
    p = start();
    meanwhile();
  } finally {
    await pool.release();
  }
  return { call: p }; // wrapped: an async function would flatten a returned promise
}
