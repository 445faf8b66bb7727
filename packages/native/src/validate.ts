// Argument checks for the system-call wrappers: each throws Node's ERR_INVALID_ARG_VALUE (TypeError) or
// ERR_OUT_OF_RANGE (RangeError) before the kernel is asked; `check` turns a -errno result into a system error.
import { types } from 'node:util';
import { constants, native } from './binding.js';
import { invalidArgument, systemError } from './errors.js';

/** The system page size (sysconf(_SC_PAGESIZE)). */
export const PAGE_SIZE: number = constants.PAGE_SIZE;

const MAX_FD = 0x7fffffff;

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `type ${typeof value}`;
}

export function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw invalidArgument(`The "${name}" argument must be of type number. Received ${describe(value)}`);
  }
  if (!Number.isInteger(value)) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be an integer. Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  if (value < min || value > max) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  return value;
}

/** An fd: an int32 >= 0. */
export function checkFd(value: unknown, name = 'fd'): number {
  return checkInt(value, name, 0, MAX_FD);
}

/** A byte count or offset: a safe integer >= min. */
export function checkSize(value: unknown, name: string, min = 1): number {
  return checkInt(value, name, min, Number.MAX_SAFE_INTEGER);
}

export function checkAligned(value: number, name: string): number {
  if (value % PAGE_SIZE !== 0) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be a multiple of the page size (${PAGE_SIZE}). Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  return value;
}

/** A 32-bit flag word with no bits outside `allowed`. */
export function checkFlags(value: unknown, name: string, allowed: number): number {
  const v = checkInt(value, name, 0, 0xffffffff);
  const unknown = (v & ~allowed) >>> 0;
  if (unknown !== 0) throw invalidArgument(`The "${name}" argument has unknown flag bits 0x${unknown.toString(16)}. Received ${v}`);
  return v;
}

export function checkString(value: unknown, name: string, maxBytes?: number): string {
  if (typeof value !== 'string') throw invalidArgument(`The "${name}" argument must be of type string. Received ${describe(value)}`);
  if (value.includes('\0')) throw invalidArgument(`The "${name}" argument must not contain NUL bytes. Received ${describe(value)}`);
  if (maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw invalidArgument(`The "${name}" argument must be at most ${maxBytes} bytes of UTF-8. Received ${describe(value)} (${Buffer.byteLength(value, 'utf8')} bytes)`);
  }
  return value;
}

export function checkBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`The "${name}" option must be a boolean. Received ${describe(value)}`);
  return value;
}

export function checkOptions<T extends object>(value: unknown, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`The "${name}" argument must be an object. Received ${describe(value)}`);
  }
  return value as Partial<T>;
}

export function checkArrayBuffer(value: unknown, name = 'arrayBuffer'): ArrayBuffer {
  if (!types.isArrayBuffer(value)) throw invalidArgument(`The "${name}" argument must be an ArrayBuffer. Received ${describe(value)}`);
  return value;
}

/** An ArrayBuffer that is a live mapping made by {@link mmapFd}; returns its address. */
export function checkMapped(value: unknown, name = 'arrayBuffer'): bigint {
  const addr = native.mappingAddress(checkArrayBuffer(value, name));
  if (addr === 0n) throw invalidArgument(`The "${name}" argument must be a live mapping made by mmapFd (it is unmapped or not a mapping)`);
  return addr;
}

/** Throws the system error for a negative native result, else returns it. */
export function check(result: number, syscall: string, extra?: { path?: string; fd?: number }): number {
  if (result < 0) throw systemError(syscall, result, extra);
  return result;
}
