// Errors of the native layer, in Node's own shapes: system errors like those of `fs`
// (code, errno, syscall, path/fd) and argument errors with Node's ERR_* codes.
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** An `Error` in Node's system-error shape (what `fs.openSync` throws). */
export interface SystemError extends Error {
  /** errno name, e.g. `'ENOMEM'`. */
  code: string;
  /** Negative errno, as Node reports it (`-12` for ENOMEM). */
  errno: number;
  /** The failed call, e.g. `'ioctl(DMA_HEAP_IOCTL_ALLOC)'`. */
  syscall: string;
  path?: string;
  fd?: number;
}

/** Node's codes for bad arguments. */
export type ArgumentErrorCode = 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

/** A `TypeError` (ERR_INVALID_ARG_VALUE) or `RangeError` (ERR_OUT_OF_RANGE) thrown before any system call. */
export interface ArgumentError extends Error {
  code: ArgumentErrorCode;
}

// Linux errnos libuv has no name for (so util.getSystemErrorMap() lacks them), with strerror's text.
const EXTRA_ERRNOS: Record<number, [string, string]> = {
  77: ['EBADFD', 'file descriptor in bad state'],
  122: ['EDQUOT', 'disk quota exceeded'],
  116: ['ESTALE', 'stale file handle'],
  62: ['ETIME', 'timer expired'],
};

let errnoNames: Map<number, string> | undefined;

function describeErrno(errno: number): [code: string, message: string] {
  const known = getSystemErrorMap().get(-errno);
  if (known) return known;
  const extra = EXTRA_ERRNOS[errno];
  if (extra) return extra;
  errnoNames ??= new Map(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));
  const name = errnoNames.get(errno);
  return name ? [name, `system error ${errno}`] : [`Unknown system error -${errno}`, `unknown error ${errno}`];
}

/**
 * Builds the error for a failed system call, shaped like Node's own (`fs`) system errors:
 * message `ENOMEM: not enough memory, ioctl(DMA_HEAP_IOCTL_ALLOC)` (with ` '<path>'` appended when
 * a path is given, as Node does), `code`, negative `errno`, `syscall`, and `path`/`fd` when given.
 * The text is libuv's, from `util.getSystemErrorMap()`, so it matches what `fs` would say.
 *
 * @param syscall - the call that failed, e.g. `'ioctl(DMA_HEAP_IOCTL_ALLOC)'`
 * @param negErrno - the errno; negative as the native layer returns it (a positive one is accepted too)
 * @param extra - `path` and/or `fd` the call was made on
 */
export function systemError(syscall: string, negErrno: number, extra: { path?: string; fd?: number } = {}): SystemError {
  const errno = Math.abs(negErrno);
  const [code, text] = describeErrno(errno);
  const where = extra.path === undefined ? syscall : `${syscall} '${extra.path}'`;
  const err = new Error(`${code}: ${text}, ${where}`) as SystemError;
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (extra.path !== undefined) err.path = extra.path;
  if (extra.fd !== undefined) err.fd = extra.fd;
  Error.captureStackTrace(err, systemError);
  return err;
}

/**
 * Builds the error for bad input caught in TypeScript, before any system call:
 * `ERR_INVALID_ARG_VALUE` gives a `TypeError` (wrong type, unknown flag or name, bad string,
 * unmapped buffer), `ERR_OUT_OF_RANGE` a `RangeError` (numbers that are not safe integers, negative,
 * zero where the kernel needs more, misaligned, or past the end of a mapping or file).
 */
export function invalidArgument(message: string, code: ArgumentErrorCode = 'ERR_INVALID_ARG_VALUE'): ArgumentError {
  const err = (code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new TypeError(message)) as ArgumentError;
  err.code = code;
  Error.captureStackTrace(err, invalidArgument);
  return err;
}

/** True when `value` is a system error (as built by {@link systemError}, or by Node) with this code. */
export function isSystemError(value: unknown, code?: string): value is SystemError {
  if (!(value instanceof Error)) return false;
  const e = value as Partial<SystemError>;
  return typeof e.errno === 'number' && typeof e.syscall === 'string' && typeof e.code === 'string' && (code === undefined || e.code === code);
}
