// Typed errors. One base class, recognisable across duplicate installs through a Symbol.for marker,
// each subclass with a stable string code; Node's system-error fields where a system call failed.

const MARKER = Symbol.for('dmaheap.error');

export type DmaHeapErrorCode =
  | 'ERR_DMAHEAP_HEAP_NOT_FOUND'
  | 'ERR_DMAHEAP_OUT_OF_MEMORY'
  | 'ERR_DMAHEAP_PERMISSION_DENIED'
  | 'ERR_DMAHEAP_INVALID_ARGUMENT'
  | 'ERR_DMAHEAP_LIMIT_EXCEEDED'
  | 'ERR_DMAHEAP_CLOSED'
  | 'ERR_DMAHEAP_INVALID_STATE'
  | 'ERR_DMAHEAP_NOT_SUPPORTED'
  | 'ERR_DMAHEAP_TIMEOUT'
  | 'ERR_DMAHEAP_PROTOCOL'
  | 'ERR_DMAHEAP_SYSTEM';

export interface DmaHeapErrorOptions {
  /** The heap the error happened on. */
  heap?: string;
  /** Negative errno, as Node reports it (`-12` for ENOMEM). */
  errno?: number;
  /** The system call, e.g. `ioctl(DMA_HEAP_IOCTL_ALLOC)`. */
  syscall?: string;
  cause?: unknown;
}

export class DmaHeapError extends Error {
  readonly code: DmaHeapErrorCode;
  readonly heap: string | undefined;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  /** errno name (`'ENOMEM'`) when a system call failed. */
  readonly systemCode: string | undefined;

  constructor(code: DmaHeapErrorCode, message: string, options: DmaHeapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.heap = options.heap;
    this.errno = options.errno ?? systemField(options.cause, 'errno', 'number');
    this.syscall = options.syscall ?? systemField(options.cause, 'syscall', 'string');
    this.systemCode = systemField(options.cause, 'code', 'string');
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any dmaheap error, also one thrown by another copy of this package. */
  static isInstance(value: unknown): value is DmaHeapError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

function systemField<T extends 'number' | 'string'>(
  cause: unknown,
  key: string,
  type: T,
): (T extends 'number' ? number : string) | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const v = (cause as Record<string, unknown>)[key];
  return typeof v === type ? (v as T extends 'number' ? number : string) : undefined;
}

function subclass(code: DmaHeapErrorCode) {
  return class extends DmaHeapError {
    constructor(message: string, options?: DmaHeapErrorOptions) {
      super(code, message, options);
    }
    static override isInstance(value: unknown): value is DmaHeapError {
      return DmaHeapError.isInstance(value) && value.code === code;
    }
  };
}

export class HeapNotFoundError extends subclass('ERR_DMAHEAP_HEAP_NOT_FOUND') {
  /** Heaps that could have been opened instead. */
  available: string[] = [];
}
export class OutOfMemoryError extends subclass('ERR_DMAHEAP_OUT_OF_MEMORY') {}
export class PermissionDeniedError extends subclass('ERR_DMAHEAP_PERMISSION_DENIED') {
  readonly hint =
    'dma-buf heap and udmabuf device nodes are root-only by default; grant access with a udev rule, e.g. ' +
    'SUBSYSTEM=="dma_heap", KERNEL=="system", GROUP="video", MODE="0660" (and KERNEL=="udmabuf" for /dev/udmabuf), ' +
    'then add the user to that group.';
}
export class InvalidArgumentError extends subclass('ERR_DMAHEAP_INVALID_ARGUMENT') {}
export class LimitExceededError extends subclass('ERR_DMAHEAP_LIMIT_EXCEEDED') {}
export class ClosedError extends subclass('ERR_DMAHEAP_CLOSED') {}
export class InvalidStateError extends subclass('ERR_DMAHEAP_INVALID_STATE') {}
/** The kernel lacks what was asked (e.g. sync-file export before Linux 6.0). */
export class NotSupportedError extends subclass('ERR_DMAHEAP_NOT_SUPPORTED') {}
/** A wait ran out of time. */
export class TimeoutError extends subclass('ERR_DMAHEAP_TIMEOUT') {}
/** A peer broke the message format: a truncated message, more fds than asked for, a frame cut off. */
export class ProtocolError extends subclass('ERR_DMAHEAP_PROTOCOL') {}

/**
 * Turns a failed system call (an Error in Node's system-error shape: `code: 'ENOMEM'`, `errno`, `syscall`)
 * into the matching typed error for `heap`. Anything else is returned unchanged when already a DmaHeapError,
 * or wrapped as `ERR_DMAHEAP_SYSTEM`.
 */
export function fromSystemError(err: unknown, heap: string, what: string): DmaHeapError {
  if (DmaHeapError.isInstance(err)) return err;
  const code = systemField(err, 'code', 'string');
  const detail = err instanceof Error ? err.message : String(err);
  const options = { heap, cause: err };
  switch (code) {
    case 'ENOMEM':
      return new OutOfMemoryError(`${what}: heap "${heap}" is out of memory (${detail})`, options);
    case 'EACCES':
    case 'EPERM': {
      const e = new PermissionDeniedError(`${what}: permission denied on heap "${heap}" (${detail})`, options);
      return e;
    }
    case 'ENOENT':
    case 'ENODEV':
      return new HeapNotFoundError(`${what}: heap "${heap}" is not present (${detail})`, options);
    case 'EINVAL':
      return new InvalidArgumentError(`${what}: the kernel rejected the arguments for heap "${heap}" (${detail})`, options);
    case 'EMFILE':
    case 'ENFILE':
      return new LimitExceededError(`${what}: out of file descriptors (${detail})`, options);
    case 'EBADF':
      return new InvalidArgumentError(`${what}: not an open file descriptor (${detail})`, options);
    case 'ENOTTY':
      return new NotSupportedError(`${what}: not supported by this kernel or file (${detail})`, options);
    default:
      return new DmaHeapError('ERR_DMAHEAP_SYSTEM', `${what} failed on heap "${heap}": ${detail}`, options);
  }
}
