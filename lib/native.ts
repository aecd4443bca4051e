// Loads the addon: build/Release from a source build, else the prebuild that
// ships in prebuilds/linux-x64 (node-gyp-build's order). The interface below
// is the whole native surface; every call returns a status (0 or -errno)
// instead of throwing.
import * as path from 'path';
import nodeGypBuild = require('node-gyp-build');

export interface NativeAllocation {
  addr: bigint;
  buffer: ArrayBuffer;
}

export interface NativeAddressSpace {
  alloc(len: number, flags: number): NativeAllocation | number;
  free(addr: bigint): number;
  read(addr: bigint, dst: Uint8Array): number;
  write(addr: bigint, src: Uint8Array): number;
  pageState(addr: bigint): number;
  validateDmBuffers(ubufs: bigint, num: number, maxNum: number, maxSize: number, out: Uint8Array, detail?: Uint32Array): number;
  copyDmBufferFromGuest(dst: Uint8Array, len: number, bufs: Uint8Array, nr: number, idx: number, offset: bigint | number, mode: number): number;
  copyDmBufferToGuest(bufs: Uint8Array, nr: number, idx: number, offset: bigint | number, src: Uint8Array, len: number, mode: number): number;
  liveAllocations(): number;
  close(): number;
}

export interface NativeBinding {
  AddressSpace: { create(base: bigint, size: number): NativeAddressSpace | number };
  noop(): void;
  constants: {
    pageSize: number;
    mmapMinAddr: bigint;
    taskSizeMax: bigint;
    kernelBase: bigint;
    dmBufDescSize: number;
  };
}

export const packageRoot = path.resolve(__dirname, '..');

function load(): NativeBinding {
  try {
    return nodeGypBuild(packageRoot) as NativeBinding;
  } catch (cause) {
    const err = new Error(
      `privcmd-shim: no native build for ${process.platform}-${process.arch} (node ${process.version}). ` +
        'Prebuilt binaries ship for linux-x64; elsewhere run `npm run build:native` in the package ' +
        '(needs python3, make and a C++ compiler).',
      { cause },
    ) as Error & { code: string };
    err.code = 'ERR_PRIVCMD_NATIVE_MISSING';
    throw err;
  }
}

export const native: NativeBinding = load();

/** Where the loaded addon came from (build/Release or a prebuild). */
export function nativePath(): string {
  return nodeGypBuild.resolve(packageRoot);
}
