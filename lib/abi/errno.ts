// Errno values Xen and Linux x86 share (xen/errno.h), checked by test/abi.
// Names are what errors carry in `code`; values are positive here and negated
// in `errno`, as Node does for its own system errors.
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19,
  EINVAL: 22, ENOTTY: 25, ENOSPC: 28, ERANGE: 34, ENOSYS: 38, ENODATA: 61, EOVERFLOW: 75, EOPNOTSUPP: 95,
  ENOBUFS: 105, ENOTCONN: 107,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const BY_VALUE = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([k, v]) => [v, k]),
);

/** The name for a positive or negative errno value, or `E<n>` if unknown. */
export function errnoName(errno: number): string {
  const v = Math.abs(errno);
  return BY_VALUE.get(v) ?? `E${v}`;
}
