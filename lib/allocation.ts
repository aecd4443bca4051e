// A block of memory that a call may hand to the kernel: bytes in the
// simulated address space, or hypercall-safe memory on a real host. Below
// both the simulated host and the backends, so that neither backend has to
// import the other's world to name it.

export interface Allocation {
  /** Address of the first byte (simulated, or the real process's). */
  readonly addr: bigint;
  readonly size: number;
  /** Zero-copy view of the bytes; detached (length 0) once freed. */
  readonly view: Buffer;
}
