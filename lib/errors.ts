// Node-style system errors: `code` ('EPERM', 'EINVAL', ...), a negative
// `errno` as Node's own errors carry, and the `syscall` that failed, with a
// message that says what was refused and why. Assert on `code` in tests:
// jest runs each file in its own realm, so `instanceof` is unreliable there.
import { ERRNO, errnoName, type ErrnoName } from './abi/errno';

export class PrivcmdError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  /** The message without its `CODE (syscall): ` prefix, for wrapping it in another. */
  readonly detail: string;

  constructor(code: string, errno: number, syscall: string, detail: string) {
    super(`${code} (${syscall}): ${detail}`);
    this.name = 'PrivcmdError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.detail = detail;
  }
}

/** The library's own failures (Node's `ERR_*` convention: a code, no errno or syscall). */
export type LibraryErrorCode =
  | 'ERR_PRIVCMD_NATIVE_MISSING'
  | 'ERR_PRIVCMD_NOT_RESTRICTED'
  | 'ERR_PRIVCMD_NOT_RELABELED'
  | 'ERR_PRIVCMD_BUILD_STATE';

/**
 * An error that is no system call's: a refusal by the library itself (a
 * restriction it cannot verify, a build step out of order, no native
 * build). It carries `code` and `detail`, plus whatever the site adds (the
 * report that was checked, the step that refused), and no fake `errno`.
 */
export class PrivcmdLibraryError extends Error {
  readonly code: LibraryErrorCode;
  readonly detail: string;

  constructor(code: LibraryErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'PrivcmdLibraryError';
    this.code = code;
    this.detail = detail;
  }
}

/** A library error with extra fields (`{ report }`, `{ step }`), built the one way. */
export function libraryError<X extends object = object>(code: LibraryErrorCode, detail: string, extra?: X, options?: { cause?: unknown }): PrivcmdLibraryError & X {
  return Object.assign(new PrivcmdLibraryError(code, detail, options), extra);
}

/** The same error with more said about it (code, errno/syscall or extra fields kept; the original as `cause`). */
export function withDetail<E extends PrivcmdError | PrivcmdLibraryError>(err: E, detail: string): E {
  if (err instanceof PrivcmdLibraryError) {
    const extra = Object.fromEntries(Object.entries(err).filter(([k]) => !['name', 'code', 'detail', 'message', 'stack'].includes(k)));
    return libraryError(err.code, detail, extra, { cause: err }) as unknown as E;
  }
  const e = new PrivcmdError(err.code, (err as PrivcmdError).errno, (err as PrivcmdError).syscall, detail);
  (e as Error & { cause?: unknown }).cause = err;
  return e as E;
}

/** Is this a coded error from this library (checked by shape: jest runs tests in other realms)? */
export function isPrivcmdError(e: unknown): e is PrivcmdError {
  return e instanceof Error && typeof (e as PrivcmdError).code === 'string' && typeof (e as PrivcmdError).errno === 'number' &&
    typeof (e as PrivcmdError).detail === 'string';
}

/** An error for a status returned by the native layer or a simulated kernel/Xen. */
export function errnoError(status: number, syscall: string, detail: string): PrivcmdError {
  const code = errnoName(status);
  return new PrivcmdError(code, -Math.abs(status), syscall, detail);
}

/** An error for a named errno. */
export function codedError(code: ErrnoName, syscall: string, detail: string): PrivcmdError {
  return new PrivcmdError(code, -ERRNO[code], syscall, detail);
}

/** A bad argument: EINVAL naming the argument and what was wrong with it. */
export function invalidArgument(syscall: string, detail: string): PrivcmdError {
  return codedError('EINVAL', syscall, detail);
}

/**
 * A caller's value for an error message, safely: never throws and stays
 * short, whatever the value (Object.create(null), a Symbol, a revoked or
 * throwing Proxy, a detached or huge array, a toString that throws).
 */
export function describe(v: unknown): string {
  switch (typeof v) {
    case 'string': return v.length > 64 ? `'${v.slice(0, 61)}...'` : `'${v}'`;
    case 'number': case 'boolean': case 'undefined': return String(v);
    case 'bigint': return `${v}n`;
    case 'symbol': return 'a symbol';
    case 'function': return 'a function';
    default: break;
  }
  if (v === null) return 'null';
  try {
    if (ArrayBuffer.isView(v)) return `a ${Object.prototype.toString.call(v).slice(8, -1)} of ${v.byteLength} bytes`;
    if (Array.isArray(v)) return `an array of length ${v.length}`;
  } catch {
    return 'an unreadable object';
  }
  return 'an object';
}
