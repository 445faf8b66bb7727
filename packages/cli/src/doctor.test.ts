// The doctor's report from a FAKE machine: device nodes and the fix for each that does not open, CMA, huge
// pages, caveats by kernel, and the registry's answer for openHeap('system') and openHeap('cma').
import { describe, expect, it } from 'vitest';
import { renderDoctor } from './doctor-render.js';
import { caveatsFor, type Caveat, type KernelProbes } from './doctor-caveats.js';
import { explain, resolve, type HeapListingRow, type HeapResolutions } from './doctor-registry.js';
import { fixFor, gatherDoctor, parseChoice, type DoctorFs, type UserInfo } from './doctor.js';
import { makeStyle } from './format.js';

const ROOT: UserInfo = { uid: 0, gid: 0, groups: [0], name: 'root' };
const NOBODY: UserInfo = { uid: 65534, gid: 65534, groups: [65534], name: 'nobody' };
const CHR = 0o20000;

/** A FAKE machine: files, directories, device nodes (mode, owner) and who may open them. */
class FakeMachine implements DoctorFs {
  constructor(
    readonly files: Record<string, string>,
    readonly nodes: Record<string, { mode: number; uid: number; gid: number }>,
    readonly user: UserInfo,
    readonly denied: Record<string, string> = {},
  ) {}
  readFile(path: string): string {
    if (this.denied[path]) throw Object.assign(new Error(path), { code: this.denied[path] });
    const f = this.files[path];
    if (f === undefined) throw Object.assign(new Error(path), { code: 'ENOENT' });
    return f;
  }
  readdir(path: string): string[] {
    if (this.denied[path]) throw Object.assign(new Error(path), { code: this.denied[path] });
    const prefix = `${path}/`;
    const names = new Set<string>();
    for (const p of [...Object.keys(this.files), ...Object.keys(this.nodes), ...Object.keys(this.files).filter((f) => f.endsWith('/.'))]) {
      if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    names.delete('.');
    if (names.size === 0 && !Object.keys(this.files).some((f) => f === `${path}/.`)) throw Object.assign(new Error(path), { code: 'ENOENT' });
    return [...names];
  }
  stat(path: string) {
    const n = this.nodes[path];
    if (!n) throw Object.assign(new Error(path), { code: 'ENOENT' });
    return { mode: CHR | n.mode, uid: n.uid, gid: n.gid, isCharacterDevice: true };
  }
  tryOpen(path: string, readWrite: boolean): string | null {
    const n = this.nodes[path]!;
    if (this.user.uid === 0) return null;
    const need = readWrite ? 6 : 4;
    const bits = n.uid === this.user.uid ? n.mode >> 6 : this.user.groups.includes(n.gid) ? n.mode >> 3 : n.mode;
    return (bits & need) === need ? null : 'EACCES';
  }
}

// FAKE files of the stock 6.12 guest (values as it showed them), and of the CMA kernel's.
const STOCK_FILES: Record<string, string> = {
  '/etc/group': 'root:x:0:\nvideo:x:44:\nnogroup:x:65534:\n',
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  '/proc/sys/kernel/osrelease': '6.12.117+deb12-amd64\n',
  '/proc/meminfo': 'MemTotal:        3000000 kB\nHugePages_Total:      64\nHugePages_Free:       64\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\n',
  '/sys/module/udmabuf/parameters/list_limit': '1024\n',
  '/sys/module/udmabuf/parameters/size_limit_mb': '64\n',
  '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '64\n',
  '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages': '64\n',
  '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages': '0\n',
  '/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages': '0\n',
  '/sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
  '/sys/kernel/mm/transparent_hugepage/shmem_enabled': 'always within_size [advise] never deny force\n',
  '/sys/kernel/mm/transparent_hugepage/defrag': 'always defer defer+madvise [madvise] never\n',
  '/sys/kernel/debug/.': '',
};
const STOCK_NODES = { '/dev/dma_heap/system': { mode: 0o600, uid: 0, gid: 0 }, '/dev/udmabuf': { mode: 0o600, uid: 0, gid: 0 } };
const CMA_FILES: Record<string, string> = {
  ...STOCK_FILES,
  '/proc/meminfo': STOCK_FILES['/proc/meminfo']! + 'CmaTotal:         262144 kB\nCmaFree:          258048 kB\n',
  '/sys/kernel/mm/cma/reserved/alloc_pages_success': '1024\n',
  '/sys/kernel/mm/cma/reserved/alloc_pages_fail': '0\n',
  '/sys/kernel/mm/cma/reserved/release_pages_success': '0\n',
  '/sys/kernel/debug/cma/reserved/count': '65536\n',
  '/sys/kernel/debug/cma/reserved/used': '1024\n',
  '/sys/kernel/debug/cma/reserved/maxchunk': '64512\n',
  '/sys/kernel/debug/cma/reserved/base_pfn': '786432\n',
};
const CMA_NODES = { ...STOCK_NODES, '/dev/dma_heap/reserved': { mode: 0o600, uid: 0, gid: 0 } };

function fakeResolutions(systemAvailable: boolean): HeapResolutions {
  const heaps: HeapListingRow[] = [
    { name: 'system', provider: '@dmaheap/system-heap', priority: 10, available: systemAvailable, ...(systemAvailable ? {} : { reason: 'no permission to open /dev/udmabuf read-write' }) },
    { name: 'system', provider: '@dmaheap/native', priority: 0, available: systemAvailable, ...(systemAvailable ? {} : { reason: 'no permission to open /dev/dma_heap/system (udev rules grant it)' }) },
  ];
  return {
    system: systemAvailable
      ? { asked: 'system', opens: { heap: 'system', backing: 'memfd+udmabuf', provider: '@dmaheap/system-heap' }, error: null, candidates: heaps, why: explain('system', heaps) }
      : { asked: 'system', opens: null, error: 'no heap could be opened for "system"', candidates: heaps, why: explain('system', heaps) },
    cma: { asked: 'cma', opens: null, error: 'no heap could be opened for "cma"', candidates: [], why: explain('cma', [], ['default_cma_region', 'linux,cma', 'reserved']) },
    heaps,
    loadErrors: [],
  };
}

describe('small parsers', () => {
  it('reads the selected value of a sysfs choice, and meminfo fields', () => {
    expect(parseChoice('always within_size [advise] never deny force\n')).toBe('advise');
    expect(parseChoice('64\n')).toBe('64');
  });
});

describe('fixFor', () => {
  const node = { path: '/dev/dma_heap/system', mode: CHR | 0o600, gid: 0, group: 'root', error: 'EACCES' };
  it('a root-only node: the udev rule, the reload, the group', () => {
    expect(fixFor(node, NOBODY, 'heap')).toEqual({
      text: 'a udev rule giving /dev/dma_heap/system to the group video, in /etc/udev/rules.d/90-dmaheap.rules, then add nobody to video (and log in again)',
      udevRule: 'SUBSYSTEM=="dma_heap", KERNEL=="system", GROUP="video", MODE="0660"',
      commands: [
        `echo 'SUBSYSTEM=="dma_heap", KERNEL=="system", GROUP="video", MODE="0660"' >> /etc/udev/rules.d/90-dmaheap.rules`,
        'udevadm control --reload && udevadm trigger',
        'usermod -aG video nobody',
      ],
    });
    expect(fixFor({ ...node, path: '/dev/udmabuf' }, NOBODY, 'udmabuf').udevRule).toBe('KERNEL=="udmabuf", GROUP="video", MODE="0660"');
  });
  it('a node its group may open: join the group', () => {
    expect(fixFor({ ...node, mode: CHR | 0o660, gid: 44, group: 'video' }, NOBODY, 'heap')).toEqual({
      text: 'add nobody to the group "video", which may open it (then log in again)',
      udevRule: null,
      commands: ['usermod -aG video nobody'],
    });
    // read-only for the group is not enough for udmabuf, which opens read-write
    expect(fixFor({ ...node, path: '/dev/udmabuf', mode: CHR | 0o640, gid: 44, group: 'video' }, NOBODY, 'udmabuf').udevRule).toBe('KERNEL=="udmabuf", GROUP="video", MODE="0660"');
  });
  it('a node the mode already allows: something else refuses', () => {
    expect(fixFor({ ...node, mode: CHR | 0o660, gid: 44, group: 'video' }, { ...NOBODY, groups: [65534, 44] }, 'heap').text).toMatch(/security module .* device cgroup/);
    expect(fixFor({ ...node, error: 'ENXIO' }, NOBODY, 'heap').text).toBe('opening /dev/dma_heap/system failed with ENXIO');
  });
});

describe('caveatsFor', () => {
  const has = { heaps: true, systemHeap: true, udmabuf: true, largeFolios: 'x' };
  const probes = (p: Partial<KernelProbes>): KernelProbes => ({ pageInit: null, fallocatedUdmabuf: null, heapMemcg: null, error: null, ...p });
  const decided = (c: Caveat[]) => c.map((x) => [x.id, x.applies, x.basis]);

  it('without probes: unknown where only a probe could tell, the source where it tells, no version string consulted', () => {
    expect(decided(caveatsFor(has))).toEqual([
      ['udmabuf-large-folios', 'unknown', 'unmeasured'],
      ['udmabuf-fallocate-uncleared', 'unknown', 'unmeasured'],
      ['heap-memcg', 'unknown', 'unmeasured'],
      ['system-heap-oom', 'yes', 'source'],
    ]);
    expect(caveatsFor(has)[2]!.text).toContain('not measured (not run)');
  });

  it('not without the parts they need', () => {
    expect(decided(caveatsFor({ heaps: false, systemHeap: false, udmabuf: false, largeFolios: 'x' }, probes({})))).toEqual([
      ['udmabuf-large-folios', 'no', 'absent'],
      ['udmabuf-fallocate-uncleared', 'no', 'absent'],
      ['heap-memcg', 'no', 'absent'],
      ['system-heap-oom', 'no', 'absent'],
    ]);
  });

  it('fallocated udmabufs: not where the kernel clears pages at allocation; else what the probe saw', () => {
    const clears = { atAlloc: true, atFree: false, source: 'the boot log (mem auto-init)' };
    const keeps = { ...clears, atAlloc: false };
    const at = (p: KernelProbes) => caveatsFor(has, p)[1]!;
    expect(at(probes({ pageInit: clears }))).toMatchObject({ applies: 'no', basis: 'reported', text: expect.stringContaining('this kernel clears pages at allocation (init_on_alloc, from the boot log (mem auto-init))') });
    expect(at(probes({ pageInit: keeps, fallocatedUdmabuf: { verdict: 'yes', how: '15408 of 16384 pages held old data' } }))).toMatchObject({ applies: 'yes', basis: 'measured', text: expect.stringContaining('15408 of 16384') });
    expect(at(probes({ pageInit: keeps, fallocatedUdmabuf: { verdict: 'no', how: '0 of 1024' } }))).toMatchObject({ applies: 'no', basis: 'measured' });
    expect(at(probes({ pageInit: keeps, fallocatedUdmabuf: { verdict: 'unmeasured', how: '/dev/udmabuf does not open (EACCES)' } }))).toMatchObject({ applies: 'unknown', basis: 'unmeasured', text: expect.stringContaining('EACCES') });
  });

  it('heap pages in the memory cgroup: the caveat holds where the probe saw them not charged', () => {
    const memcg = (verdict: 'yes' | 'no' | 'unmeasured') => caveatsFor(has, probes({ heapMemcg: { verdict, how: 'h' } }))[2]!;
    expect(memcg('no')).toMatchObject({ applies: 'yes', basis: 'measured' });
    expect(memcg('yes')).toMatchObject({ applies: 'no', basis: 'measured' });
    expect(memcg('unmeasured')).toMatchObject({ applies: 'unknown', basis: 'unmeasured' });
  });
});

describe('gatherDoctor (FAKE machine)', () => {
  it('root on the stock kernel: every node opens, no CMA, huge pages as set up, no problems', () => {
    const r = gatherDoctor({ fs: new FakeMachine(STOCK_FILES, STOCK_NODES, ROOT), user: ROOT, resolutions: fakeResolutions(true) });
    expect(r.heaps).toEqual({
      dir: '/dev/dma_heap',
      present: true,
      nodes: [{ name: 'system', cma: false, path: '/dev/dma_heap/system', present: true, mode: '0600', owner: 'root', group: 'root', canOpen: true, error: null, fix: null }],
    });
    expect(r.udmabuf).toMatchObject({ present: true, canOpen: true, limits: { listLimit: 1024, sizeLimitMb: 64 } });
    expect(r.cma).toEqual({ total: null, free: null, areas: [], sysfs: 'absent (no CONFIG_CMA_SYSFS, or no CMA)', debugfs: 'debugfs is not mounted (mount -t debugfs debugfs /sys/kernel/debug)' });
    expect(r.hugetlb).toEqual({
      pageSize: 2 << 20,
      total: 64,
      free: 64,
      reserved: 0,
      surplus: 0,
      sizes: [
        { pageSize: 2 << 20, pages: 64, free: 64 },
        { pageSize: 1 << 30, pages: 0, free: 0 },
      ],
    });
    expect(r.thp).toEqual({ enabled: 'madvise', shmemEnabled: 'advise', defrag: 'madvise' });
    expect(r.caveats[0]!.text).toContain('Here: 64 pages in the hugetlb pool (a MFD_HUGETLB memfd gets large folios); shmem THP is "advise"');
    expect(r.problems).toEqual([]);
    expect(r.user).toMatchObject({ name: 'root', groupNames: ['root'] });
  });

  it('nobody on the stock kernel: nothing opens, each with its fix, and openHeap fails', () => {
    const r = gatherDoctor({ fs: new FakeMachine(STOCK_FILES, STOCK_NODES, NOBODY), user: NOBODY, resolutions: fakeResolutions(false) });
    expect(r.heaps.nodes[0]).toMatchObject({ canOpen: false, error: 'EACCES', fix: { udevRule: 'SUBSYSTEM=="dma_heap", KERNEL=="system", GROUP="video", MODE="0660"' } });
    expect(r.udmabuf).toMatchObject({ canOpen: false, error: 'EACCES', fix: { udevRule: 'KERNEL=="udmabuf", GROUP="video", MODE="0660"' } });
    expect(r.problems).toEqual([
      expect.stringMatching(/^\/dev\/dma_heap\/system does not open for this user \(EACCES\): a udev rule/),
      expect.stringMatching(/^\/dev\/udmabuf does not open read-write for this user \(EACCES\): a udev rule/),
      `openHeap('system') fails: no heap could be opened for "system"`,
    ]);
  });

  it('root on the CMA kernel: the CMA heap, CmaTotal/CmaFree, the area from sysfs and debugfs', () => {
    const r = gatherDoctor({ fs: new FakeMachine(CMA_FILES, CMA_NODES, ROOT), user: ROOT, resolutions: fakeResolutions(true) });
    expect(r.heaps.nodes.map((n) => [n.name, n.cma, n.canOpen])).toEqual([
      ['reserved', true, true],
      ['system', false, true],
    ]);
    expect(r.cma).toEqual({
      total: 256 << 20,
      free: 252 << 20,
      areas: [{ name: 'reserved', pages: 65536, usedPages: 1024, maxChunkPages: 64512, basePfn: 786432, bytes: 256 << 20, allocPagesSuccess: 1024, allocPagesFail: 0, releasePagesSuccess: 0 }],
      sysfs: 'read',
      debugfs: 'read',
    });
  });

  it('nobody on the CMA kernel: sysfs counters only, debugfs refused', () => {
    const denied = { '/sys/kernel/debug/cma': 'EACCES', '/sys/kernel/debug': 'EACCES' };
    const r = gatherDoctor({ fs: new FakeMachine(CMA_FILES, CMA_NODES, NOBODY, denied), user: NOBODY, resolutions: fakeResolutions(false) });
    expect(r.cma.debugfs).toBe('EACCES: debugfs is root-only');
    expect(r.cma.areas).toEqual([{ name: 'reserved', pages: null, usedPages: null, maxChunkPages: null, basePfn: null, bytes: null, allocPagesSuccess: 1024, allocPagesFail: 0, releasePagesSuccess: 0 }]);
    expect(r.heaps.nodes.find((n) => n.name === 'reserved')).toMatchObject({ cma: true, canOpen: false });
  });

  it('a kernel with neither heaps nor udmabuf is a problem in itself', () => {
    const r = gatherDoctor({ fs: new FakeMachine({ '/proc/meminfo': '' }, {}, ROOT), user: ROOT, release: '6.1.0', resolutions: fakeResolutions(false) });
    expect(r.heaps.present).toBe(false);
    expect(r.problems).toEqual([expect.stringMatching(/neither \/dev\/dma_heap .* nor \/dev\/udmabuf/)]);
  });

  it('renders as text with each section', () => {
    const text = renderDoctor(gatherDoctor({ fs: new FakeMachine(STOCK_FILES, STOCK_NODES, NOBODY), user: NOBODY, resolutions: fakeResolutions(false) }), makeStyle(false));
    expect(text).toMatch(/^User nobody \(uid 65534, groups nogroup\), kernel 6\.12\.117\+deb12-amd64$/m);
    expect(text).toMatch(/^  system  system  0600  root   root   no \(EACCES\)$/m);
    expect(text).toContain(`      # echo 'SUBSYSTEM=="dma_heap", KERNEL=="system", GROUP="video", MODE="0660"' >> /etc/udev/rules.d/90-dmaheap.rules`);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
    expect(text).toContain('  limits: list_limit 1024 items per UDMABUF_CREATE_LIST, size_limit_mb 64 MiB per buffer');
    expect(text).toContain(`  openHeap('system') fails: no heap could be opened for "system"`);
    expect(text).toMatch(/Problems\n  - \/dev\/dma_heap\/system does not open/);
  });
});

describe('the registry', () => {
  const rows: HeapListingRow[] = [
    { name: 'reserved', provider: '@dmaheap/native', priority: 0, available: true },
    { name: 'reserved', provider: '@dmaheap/cma-heap', priority: 10, available: true },
    { name: 'system', provider: '@dmaheap/native', priority: 0, available: true },
    { name: 'system', provider: '@dmaheap/system-heap', priority: 10, available: false, reason: 'no permission to open /dev/udmabuf read-write' },
  ];
  it('says why the first available one wins, after the ones that are not; names what an alias stood for when nothing serves it', () => {
    expect(explain('system', [rows[3]!, rows[2]!])).toBe(
      'system from @dmaheap/system-heap (priority 10): no permission to open /dev/udmabuf read-write; system from @dmaheap/native (priority 0) is available',
    );
    expect(explain('cma', [], ['default_cma_region', 'linux,cma', 'reserved'])).toBe('no registered provider serves any of default_cma_region, linux,cma, reserved');
    expect(explain('camera', [])).toBe('no registered provider serves "camera"');
  });

  it('opens and closes the heap openHeap gives (FAKE core), or gives its error', () => {
    let closed = 0;
    const core = {
      listHeaps: () => rows,
      explainHeap: (name: string) => (name === 'system' ? [rows[3]!, rows[2]!] : []),
      aliasNames: (name: string) => [name],
      openHeap: (name: string) => {
        if (name !== 'system') throw new Error(`no heap could be opened for "${name}"`);
        return { name: 'system', capabilities: { backing: 'kernel:system' }, close: () => void closed++ };
      },
    };
    expect(resolve(core, 'system')).toMatchObject({ opens: { heap: 'system', backing: 'kernel:system', provider: '@dmaheap/native' }, error: null, candidates: [rows[3], rows[2]] });
    expect(closed).toBe(1);
    expect(resolve(core, 'cma')).toMatchObject({ opens: null, error: 'no heap could be opened for "cma"', why: 'no registered provider serves "cma"' });
  });
});
