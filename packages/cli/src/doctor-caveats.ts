// doctor's kernel caveats: what dmaheap designs around, each decided for this kernel by @dmaheap/native's probes
// (measured in this run), by what the kernel reports of itself, or by its source; never by a version string.
import { meminfoField } from '@dmaheap/core';

export interface Caveat {
  id: 'udmabuf-large-folios' | 'udmabuf-fallocate-uncleared' | 'heap-memcg' | 'system-heap-oom';
  /** `yes`: it holds on this kernel; `no`: it does not, or the parts it needs are absent; `unknown`. */
  applies: 'yes' | 'no' | 'unknown';
  /**
   * How `applies` was decided: `measured` by a probe in this run, `reported` by the kernel itself (its boot log,
   * command line or config), read from the kernel `source`, the parts it needs `absent`, or `unmeasured`.
   */
  basis: 'measured' | 'reported' | 'source' | 'absent' | 'unmeasured';
  text: string;
}

/** A probe's answer (`@dmaheap/native`'s probes), as doctor reports it. */
export interface ProbeAnswer {
  verdict: 'yes' | 'no' | 'unmeasured';
  how: string;
}

/** What doctor measured of this kernel's behaviour (see probeKernel); null where a probe was not run. */
export interface KernelProbes {
  pageInit: { atAlloc: boolean | null; atFree: boolean | null; source: string } | null;
  fallocatedUdmabuf: ProbeAnswer | null;
  heapMemcg: ProbeAnswer | null;
  /** Why the probes did not run at all (the addon did not load), else null. */
  error: string | null;
}

/** Probes that did not run (the FAKE machine of the host tests, or the addon not loading). */
export const NO_PROBES: KernelProbes = { pageInit: null, fallocatedUdmabuf: null, heapMemcg: null, error: 'not run' };

/**
 * The kernel caveats dmaheap designs around, each decided for this kernel: by the probes measured in this run
 * where one can measure it, by what the kernel reports of itself, or by its source; never by a version string.
 */
export function caveatsFor(has: { heaps: boolean; systemHeap: boolean; udmabuf: boolean; largeFolios: string }, probes: KernelProbes = NO_PROBES): Caveat[] {
  const measured = (p: ProbeAnswer | null, yes: Caveat['applies']): Pick<Caveat, 'applies' | 'basis'> =>
    p === null || p.verdict === 'unmeasured' ? { applies: 'unknown', basis: 'unmeasured' } : { applies: p.verdict === 'yes' ? yes : yes === 'yes' ? 'no' : 'yes', basis: 'measured' };
  const unprobed = (p: ProbeAnswer | null) => (p === null ? `not measured (${probes.error ?? 'probe not run'})` : p.how);
  const init = probes.pageInit;
  const clearing =
    init === null || init.atAlloc === null ? 'whether this kernel clears pages at allocation is unknown' : `this kernel ${init.atAlloc ? 'clears' : 'does not clear'} pages at allocation (init_on_alloc, from ${init.source})`;
  const fallocate: Pick<Caveat, 'applies' | 'basis'> = !has.udmabuf
    ? { applies: 'no', basis: 'absent' }
    : init?.atAlloc === true
      ? { applies: 'no', basis: 'reported' }
      : measured(probes.fallocatedUdmabuf, 'yes');
  return [
    {
      id: 'udmabuf-large-folios',
      ...(has.udmabuf ? { applies: 'unknown', basis: 'unmeasured' } : { applies: 'no', basis: 'absent' }),
      text:
        `udmabufs over large folios (hugetlb or shmem THP memfds) can reach devices wrong: vmap_udmabuf maps each folio's ` +
        `head page, so an importer that vmaps (vivid, many DRM helpers) sees the first 4 KiB over and over, while the CPU's ` +
        `own mapping is right. dmaheap's test bed saw it on Debian's 6.12.117 and 6.12.118; doctor cannot measure it ` +
        `without a device that vmaps. @dmaheap/system-heap keeps huge pages off. Here: ${has.largeFolios}.`,
    },
    {
      id: 'udmabuf-fallocate-uncleared',
      ...fallocate,
      text:
        `where the kernel does not clear pages at allocation, a udmabuf over fallocated memfd pages can show what other ` +
        `processes left in that memory (fallocate does not clear shmem pages, and udmabuf pinned them as found up to ` +
        `6.12.117; 6.12.118's memfd_pin_folios clears them). @dmaheap/system-heap never fallocates its arenas. Here: ` +
        `${clearing}; ${init?.atAlloc === true ? 'so old memory cannot reach a udmabuf' : unprobed(probes.fallocatedUdmabuf)}.`,
    },
    {
      id: 'heap-memcg',
      ...(has.heaps ? measured(probes.heapMemcg, 'no') : { applies: 'no', basis: 'absent' }),
      text:
        `pages of the kernel's heaps may not be charged to the allocating process's memory cgroup, so a container's ` +
        `memory.max does not limit them (udmabuf's memfd pages are charged as shmem). Here: ${unprobed(probes.heapMemcg)}.`,
    },
    {
      id: 'system-heap-oom',
      ...(has.systemHeap ? { applies: 'yes', basis: 'source' } : { applies: 'no', basis: 'absent' }),
      text:
        `the kernel system heap asks for its 4 KiB pages without __GFP_NORETRY (drivers/dma-buf/heaps/system_heap.c), so ` +
        `past free memory it takes pages until the OOM killer kills a process rather than failing with ENOMEM; ` +
        `kernelHeap() refuses allocations that would leave less than a reserve of MemAvailable.`,
    },
  ];
}

/**
 * Measures this kernel's behaviour with @dmaheap/native's probes: page clearing at allocation; where the kernel
 * does not clear, whether a udmabuf over fallocated pages shows old memory (64 MiB of free memory dirtied, a
 * 4 MiB udmabuf read); whether a 16 MiB system heap buffer is charged to this process's memory cgroup. On a
 * small machine each takes at most a sixteenth of MemAvailable, so doctor never pushes a board into reclaim.
 */
export async function probeKernel(): Promise<KernelProbes> {
  let native: typeof import('@dmaheap/native');
  try {
    native = await import('@dmaheap/native');
  } catch (err) {
    return { ...NO_PROBES, error: `@dmaheap/native did not load: ${(err as Error).message.split('\n')[0]}` };
  }
  const answer = (run: () => ProbeAnswer): ProbeAnswer => {
    try {
      const { verdict, how } = run();
      return { verdict, how };
    } catch (err) {
      return { verdict: 'unmeasured', how: `the probe failed: ${(err as Error).message}` };
    }
  };
  const MiB = 1024 * 1024;
  const sixteenth = Math.floor((meminfoField('MemAvailable') ?? 1024 * MiB) / 16 / MiB) * MiB;
  const upTo = (bytes: number) => Math.max(MiB, Math.min(bytes, sixteenth));
  const pageInit = native.pageInit();
  return {
    pageInit,
    fallocatedUdmabuf: pageInit.atAlloc === true ? null : answer(() => native.probeFallocatedUdmabuf({ bytes: upTo(4 * MiB), dirtyBytes: upTo(64 * MiB) })),
    heapMemcg: answer(() => native.probeHeapMemcg({ bytes: upTo(16 * MiB) })),
    error: null,
  };
}
