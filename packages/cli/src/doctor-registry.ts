// doctor's view of the registry: what openHeap('system') and openHeap('cma') open here and why, from
// @dmaheap/core's explainHeap after the heap packages registered their providers.
export interface HeapListingRow {
  name: string;
  provider: string;
  priority: number;
  available: boolean;
  reason?: string;
}

export interface Resolution {
  /** What was asked: `system` or `cma`. */
  asked: string;
  /** What `openHeap(asked)` opened (it was closed again at once), or null. */
  opens: { heap: string; backing: string; provider: string | null } | null;
  error: string | null;
  /** The registry's rows for the names tried, in the order openHeap tries them. */
  candidates: HeapListingRow[];
  why: string;
}

export interface HeapResolutions {
  system: Resolution;
  cma: Resolution;
  /** Every row of listHeaps(). */
  heaps: HeapListingRow[];
  /** Packages that failed to load (the addon, say). */
  loadErrors: string[];
}

interface CoreLike {
  listHeaps(): HeapListingRow[];
  /** What openHeap tries for a name, in its order (core's explainHeap). */
  explainHeap(name: string): HeapListingRow[];
  /** The names an alias stands for now (core's aliasNames). */
  aliasNames(name: string): string[];
  openHeap(name: string): { name: string; capabilities: { backing: string }; close(): void };
}

/** Why openHeap picks what it picks: the first available row, after the ones that are not. */
export function explain(asked: string, candidates: readonly HeapListingRow[], names: readonly string[] = [asked]): string {
  if (candidates.length === 0) return `no registered provider serves ${names.length === 1 && names[0] === asked ? `"${asked}"` : `any of ${names.join(', ')}`}`;
  const parts: string[] = [];
  for (const c of candidates) {
    if (c.available) {
      parts.push(`${c.name} from ${c.provider} (priority ${c.priority}) is available`);
      break;
    }
    parts.push(`${c.name} from ${c.provider} (priority ${c.priority}): ${c.reason ?? 'not available'}`);
  }
  return parts.join('; ');
}

/** What openHeap(asked) opens through `core`, and what the registry tried: opened and closed again at once. */
export function resolve(core: CoreLike, asked: string): Resolution {
  const candidates = core.explainHeap(asked).map(({ name, provider, priority, available, reason }) => ({ name, provider, priority, available, ...(reason === undefined ? {} : { reason }) }));
  const why = explain(asked, candidates, core.aliasNames(asked));
  const first = candidates.find((c) => c.available);
  try {
    const heap = core.openHeap(asked);
    const opens = { heap: heap.name, backing: heap.capabilities.backing, provider: first?.provider ?? null };
    heap.close();
    return { asked, opens, error: null, candidates, why };
  } catch (err) {
    return { asked, opens: null, error: (err as Error).message, candidates, why };
  }
}

/**
 * Loads @dmaheap/core, then @dmaheap/native, @dmaheap/system-heap and @dmaheap/cma-heap (each registers its
 * provider), and asks the registry. A package that does not load (no prebuild for this platform, say) is named
 * in `loadErrors` and the rest goes on.
 */
export async function resolveHeaps(): Promise<HeapResolutions> {
  const loadErrors: string[] = [];
  let core: CoreLike;
  try {
    core = (await import('@dmaheap/core')) as unknown as CoreLike;
  } catch (err) {
    const error = `@dmaheap/core did not load: ${(err as Error).message}`;
    const none = (asked: string): Resolution => ({ asked, opens: null, error, candidates: [], why: error });
    return { system: none('system'), cma: none('cma'), heaps: [], loadErrors: [error] };
  }
  for (const load of [() => import('@dmaheap/native'), () => import('@dmaheap/system-heap'), () => import('@dmaheap/cma-heap')]) {
    try {
      await load();
    } catch (err) {
      loadErrors.push((err as Error).message.split('\n')[0]!);
    }
  }
  return {
    system: resolve(core, 'system'),
    cma: resolve(core, 'cma'),
    heaps: core.listHeaps(),
    loadErrors,
  };
}
