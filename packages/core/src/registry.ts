// Plugin registration: heap packages register providers; openHeap picks one by name or by a preference list.
import type { DmaBuf } from './dmabuf.js';
import { DmaHeapError, HeapNotFoundError, InvalidArgumentError, OutOfMemoryError } from './errors.js';
import { DEFAULT_CMA_HEAP_NAMES, kernelCmaHeaps } from './kernel.js';
import type { AllocateOptions, Heap, HeapStats, HeapSupports } from './types.js';

export interface HeapProvider {
  /** Identifies the provider in `listHeaps()`, e.g. `'@dmaheap/native'`. */
  readonly id: string;
  /** Heap names this provider serves now (kernel heaps are found at run time). */
  names(): string[];
  /** `true` when `name` can be opened on this machine, else the reason it cannot. */
  probe(name: string): true | string;
  open(name: string, options?: Record<string, unknown>): Heap;
  /** Among providers of one name, the highest priority is tried first. Default 0. */
  readonly priority?: number;
}

export interface HeapListing {
  name: string;
  provider: string;
  priority: number;
  available: boolean;
  /** Why it is not available. */
  reason?: string;
}

/**
 * `openHeap('cma')`: the CMA heaps this kernel has, the default area's first (kernel.ts: by the kernel's CMA
 * areas and the names kernels give the default one); the default names where it has none, so a refusal says
 * what was looked for.
 */
const cmaNames = (): string[] => {
  const found = kernelCmaHeaps();
  return found.length ? found : [...DEFAULT_CMA_HEAP_NAMES];
};
const aliases = new Map<string, readonly string[] | (() => string[])>([['cma', cmaNames]]);

/** The names an alias stands for now (a name that is no alias stands for itself). */
export function aliasNames(name: string): string[] {
  const a = aliases.get(name);
  return a === undefined ? [name] : typeof a === 'function' ? a() : [...a];
}

const providers: HeapProvider[] = [];

/**
 * Registers a provider; returns a function that removes it again. Registering the same provider twice is a
 * no-op, and so is a second provider with an `id` already registered: two copies of one heap package in one
 * program (installed at different versions) must not list every heap twice. The first one serves.
 */
export function registerHeap(provider: HeapProvider): () => void {
  if (providers.some((p) => p === provider || p.id === provider.id)) return () => {};
  providers.push(provider);
  return () => {
    const i = providers.indexOf(provider);
    if (i >= 0) providers.splice(i, 1);
  };
}

/** Makes `alias` resolve to the first available of `names` (or of what `names()` returns when asked). */
export function registerAlias(alias: string, names: readonly string[] | (() => string[])): void {
  aliases.set(alias, typeof names === 'function' ? names : [...names]);
}

/** One provider of one name, as openHeap tries it. */
export interface HeapAttempt extends HeapListing {
  /** The name or alias asked for, that `name` came from. */
  asked: string;
}

/**
 * What `openHeap(names)` tries, in its order: each name (an alias expanded to the names it stands for now), each
 * name's providers by priority, with whether it can be opened here and why not. `[]` entries are names nobody
 * serves. Nothing is opened.
 */
export function explainHeap(names: string | readonly string[]): HeapAttempt[] {
  const out: HeapAttempt[] = [];
  for (const asked of typeof names === 'string' ? [names] : names) {
    for (const real of aliasNames(asked)) {
      for (const p of candidates(real)) {
        const probe = p.probe(real);
        out.push({ asked, name: real, provider: p.id, priority: p.priority ?? 0, available: probe === true, ...(probe === true ? {} : { reason: probe }) });
      }
    }
  }
  return out;
}

/** Every heap name the registered providers serve, with whether it can be opened here. */
export function listHeaps(): HeapListing[] {
  const out: HeapListing[] = [];
  for (const p of providers) {
    for (const name of p.names()) {
      const probe = p.probe(name);
      out.push({
        name,
        provider: p.id,
        priority: p.priority ?? 0,
        available: probe === true,
        ...(probe === true ? {} : { reason: probe }),
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || b.priority - a.priority);
}

function candidates(name: string): HeapProvider[] {
  return providers.filter((p) => p.names().includes(name)).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
}

/** Opens one name (or alias): the first provider, by priority, that probes true and opens without error. */
function openOne(name: string, options: Record<string, unknown> | undefined, tried: string[]): Heap | undefined {
  for (const real of aliasNames(name)) {
    for (const p of candidates(real)) {
      const probe = p.probe(real);
      if (probe !== true) {
        tried.push(`${real} (${p.id}): ${probe}`);
        continue;
      }
      try {
        return p.open(real, options);
      } catch (err) {
        if (!DmaHeapError.isInstance(err)) throw err;
        tried.push(`${real} (${p.id}): ${err.message}`);
      }
    }
    if (candidates(real).length === 0 && !aliases.has(real)) tried.push(`${real}: no provider`);
  }
  return undefined;
}

/**
 * Opens a heap by name, or the first that opens from a list in order of preference. With a list, the
 * returned heap also falls back to the next one when an allocation runs out of memory.
 */
export function openHeap(names: string | readonly string[], options?: Record<string, unknown>): Heap {
  const list = typeof names === 'string' ? [names] : [...names];
  if (list.length === 0 || list.some((n) => typeof n !== 'string' || n.length === 0)) {
    throw new InvalidArgumentError('openHeap needs a heap name or a non-empty list of names');
  }
  const tried: string[] = [];
  const heaps: Heap[] = [];
  for (const name of list) {
    const heap = openOne(name, options, tried);
    if (heap) heaps.push(heap);
  }
  if (heaps.length === 0) {
    const available = [...new Set(listHeaps().filter((h) => h.available).map((h) => h.name))];
    const err = new HeapNotFoundError(
      `no heap could be opened for ${list.map((n) => `"${n}"`).join(', ')}; ` +
        `available: ${available.length ? available.join(', ') : 'none (is @dmaheap/native or a heap package imported?)'}; ` +
        `tried: ${tried.join('; ') || 'nothing'}`,
      { heap: list[0] },
    );
    err.available = available;
    throw err;
  }
  return heaps.length === 1 ? heaps[0]! : new FallbackHeap(heaps);
}

/** Allocates from the first heap, moving on to the next when one is out of memory. */
class FallbackHeap implements Heap {
  readonly specificationVersion = 'v1';
  readonly name: string;
  readonly capabilities;
  readonly supports: HeapSupports;
  readonly #heaps: Heap[];

  constructor(heaps: Heap[]) {
    this.#heaps = heaps;
    this.name = heaps.map((h) => h.name).join('|');
    this.capabilities = heaps[0]!.capabilities;
    // trim and collectDeferred act on every heap of the list, so they do something if any heap's does; an
    // asynchronous allocation leaves the loop free only if it does whichever heap the allocation comes from.
    const some = (k: keyof HeapSupports) => heaps.some((h) => h.supports[k]);
    this.supports = { trim: some('trim'), collectDeferred: some('collectDeferred'), asyncAllocation: heaps.every((h) => h.supports.asyncAllocation) };
  }

  trim(targetBytes = 0): number {
    return this.#heaps.reduce((n, h) => n + h.trim(targetBytes), 0);
  }

  collectDeferred(): number {
    return this.#heaps.reduce((n, h) => n + h.collectDeferred(), 0);
  }

  allocate(size: number, options?: AllocateOptions): DmaBuf {
    let last: unknown;
    for (const heap of this.#heaps) {
      try {
        return heap.allocate(size, options);
      } catch (err) {
        if (!OutOfMemoryError.isInstance(err)) throw err;
        last = err;
      }
    }
    throw last;
  }

  async allocateAsync(size: number, options?: AllocateOptions): Promise<DmaBuf> {
    let last: unknown;
    for (const heap of this.#heaps) {
      try {
        return await heap.allocateAsync(size, options);
      } catch (err) {
        if (!OutOfMemoryError.isInstance(err)) throw err;
        last = err;
      }
    }
    throw last;
  }

  stats(): HeapStats {
    const all = this.#heaps.map((h) => h.stats());
    const sum = (k: 'liveBuffers' | 'liveBytes' | 'allocations' | 'failures') => all.reduce((n, s) => n + s[k], 0);
    return {
      liveBuffers: sum('liveBuffers'),
      liveBytes: sum('liveBytes'),
      allocations: sum('allocations'),
      failures: sum('failures'),
      heaps: Object.fromEntries(this.#heaps.map((h, i) => [h.name, all[i]])),
    };
  }

  close(): void {
    for (const h of this.#heaps) h.close();
  }
}
