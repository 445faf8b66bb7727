// Argument checks shared by every heap, done before anything reaches the kernel.
import { InvalidArgumentError, LimitExceededError } from './errors.js';
import type { AccessMode, AllocateOptions, CpuAccess } from './types.js';

/** The kernel's limit for a dma-buf name (DMA_BUF_NAME_LEN 32, NUL included). */
export const MAX_NAME_BYTES = 31;

const ACCESS_MODES: readonly AccessMode[] = ['read', 'write', 'readwrite'];
const CPU_ACCESS: readonly CpuAccess[] = ['none', 'read', 'write', 'readwrite'];

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

/** Checks one option value: `true` when valid, else a description of what was expected. */
export type OptionCheck = (value: unknown) => true | string;

/** Small checks to build option specs from. */
export const checks = {
  boolean: ((v) => typeof v === 'boolean' || 'a boolean') as OptionCheck,
  string: ((v) => typeof v === 'string' || 'a string') as OptionCheck,
  positiveInteger: ((v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) || 'a positive safe integer') as OptionCheck,
  nonNegativeInteger: ((v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || 'a non-negative safe integer') as OptionCheck,
  oneOf:
    (...values: readonly unknown[]): OptionCheck =>
    (v) =>
      values.includes(v) || `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  integerIn:
    (min: number, max: number): OptionCheck =>
    (v) =>
      (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) || `an integer from ${min} to ${max}`,
  arrayOf:
    (item: OptionCheck, { min = 0 }: { min?: number } = {}): OptionCheck =>
    (v) => {
      if (!Array.isArray(v) || v.length < min) return `an array of at least ${min} item(s)`;
      for (const x of v) {
        const r = item(x);
        if (r !== true) return `an array of ${r}`;
      }
      return true;
    },
  either:
    (...options: OptionCheck[]): OptionCheck =>
    (v) => {
      const results = options.map((c) => c(v));
      return results.includes(true) || results.join(' or ');
    },
  /** A nested options object, itself checked against `spec`. */
  object:
    (spec: Record<string, OptionCheck>): OptionCheck =>
    (v) => {
      try {
        validateOptions(v, spec, 'options');
        return true;
      } catch (e) {
        return e instanceof Error ? `an object whose ${e.message}` : 'an options object';
      }
    },
};

/** What no options validate to: one frozen object, not a new one per call. */
const NO_OPTIONS = Object.freeze({});

/**
 * Checks an options object against a spec: an object (or undefined), known keys only, each value passing its
 * check (undefined values are left out). Throws InvalidArgumentError naming the option and what was expected.
 */
export function validateOptions<T extends object>(options: unknown, spec: Readonly<Record<string, OptionCheck>>, what: string, heap?: string): Partial<T> {
  if (options === undefined) return NO_OPTIONS as Partial<T>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${what} must be an object, got ${describe(options)}`, { heap });
  }
  for (const [key, value] of Object.entries(options)) {
    const check = spec[key];
    if (!check) {
      throw new InvalidArgumentError(`unknown option "${key}" in ${what}; known options: ${Object.keys(spec).join(', ')}`, { heap });
    }
    if (value === undefined) continue;
    const r = check(value);
    if (r !== true) throw new InvalidArgumentError(`option "${key}" in ${what} must be ${r}, got ${describe(value)}`, { heap });
  }
  return options as Partial<T>;
}

/** The checks of the allocation options every heap takes; a heap with more extends it (`AbstractHeap.allocateOptions`). */
export const allocateOptionChecks: Readonly<Record<string, OptionCheck>> = {
  name: (v) => {
    try {
      validateName(v);
      return true;
    } catch (e) {
      return `a dma-buf name (${(e as Error).message})`;
    }
  },
  cpuAccess: checks.oneOf(...CPU_ACCESS),
};

/** Checks allocation options: known keys only (those of `spec`, default {@link allocateOptionChecks}), each of the right type. */
export function validateAllocateOptions(options: unknown, heap?: string, spec: Readonly<Record<string, OptionCheck>> = allocateOptionChecks): AllocateOptions {
  return validateOptions<AllocateOptions>(options, spec, 'allocate options', heap);
}
