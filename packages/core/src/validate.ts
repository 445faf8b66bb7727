// Argument checks shared by every heap, done before anything reaches the kernel.
import { InvalidArgumentError, LimitExceededError } from './errors.js';
import type { AccessMode, AllocateOptions, CpuAccess } from './types.js';

/** The kernel's limit for a dma-buf name (DMA_BUF_NAME_LEN 32, NUL included). */
export const MAX_NAME_BYTES = 31;

const ACCESS_MODES: readonly AccessMode[] = ['read', 'write', 'readwrite'];
const CPU_ACCESS: readonly CpuAccess[] = ['none', 'read', 'write', 'readwrite'];
const ALLOCATE_KEYS = new Set(['name', 'cpuAccess']);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}

/**
 * A byte count: a safe integer > 0. `limit` (e.g. the machine's memory) turns larger sizes into a
 * LimitExceededError before the kernel is asked.
 */
export function validateSize(size: unknown, heap?: string, limit?: number): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || !Number.isSafeInteger(size)) {
    throw new InvalidArgumentError(`size must be a positive safe integer number of bytes, got ${describe(size)}`, { heap });
  }
  if (limit !== undefined && size > limit) {
    throw new LimitExceededError(`size ${size} is larger than ${limit} bytes, the most heap "${heap ?? '?'}" can give`, {
      heap,
    });
  }
  return size;
}

/** A dma-buf name: a string of at most 31 UTF-8 bytes without NUL. */
export function validateName(name: unknown, heap?: string): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`name must be a string, got ${describe(name)}`, { heap });
  if (name.includes('\0')) throw new InvalidArgumentError('name must not contain NUL', { heap });
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) {
    throw new InvalidArgumentError(`name is ${bytes} bytes; the kernel allows at most ${MAX_NAME_BYTES}`, { heap });
  }
  return name;
}

export function validateAccessMode(mode: unknown): AccessMode {
  if (!ACCESS_MODES.includes(mode as AccessMode)) {
    throw new InvalidArgumentError(`mode must be one of ${ACCESS_MODES.join(', ')}, got ${describe(mode)}`);
  }
  return mode as AccessMode;
}

/** Checks allocation options: known keys only, each of the right type. */
export function validateAllocateOptions(options: unknown, heap?: string): AllocateOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`options must be an object, got ${describe(options)}`, { heap });
  }
  for (const key of Object.keys(options)) {
    if (!ALLOCATE_KEYS.has(key)) {
      throw new InvalidArgumentError(`unknown option "${key}"; known options: ${[...ALLOCATE_KEYS].join(', ')}`, { heap });
    }
  }
  const o = options as AllocateOptions;
  if (o.name !== undefined) validateName(o.name, heap);
  if (o.cpuAccess !== undefined && !CPU_ACCESS.includes(o.cpuAccess)) {
    throw new InvalidArgumentError(`cpuAccess must be one of ${CPU_ACCESS.join(', ')}, got ${describe(o.cpuAccess)}`, {
      heap,
    });
  }
  return o;
}
