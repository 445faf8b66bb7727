// `dmaheap doctor` on Debian's stock 6.12 (VM, --test-setup), and on arm64 on the test bed's arm64 kernel
// (VM_ARM64_TEST_SETUP: cma=256M, so it also has the CMA heap /dev/dma_heap/reserved, its area in sysfs, debugfs
// unmounted): as root everything opens; as nobody nothing does and each node gets its fix; with the fix applied
// (nodes of group video, mode 0660, in a private mount namespace, as the udev rule would make them) nobody in
// group video can use the heaps. What openHeap gives is compared with the registry of this process (the same
// packages loaded here).
// Run: node tools/vm/dist/cli.js --test-setup -- node node_modules/vitest/vitest.mjs run --project vm packages/cli/src/doctor.vm.test.ts
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listHeaps, openHeap } from '@dmaheap/core';
import { pageInit, probeFallocatedUdmabuf, probeHeapMemcg } from '@dmaheap/native';
import '@dmaheap/system-heap';
import '@dmaheap/cma-heap';
import type { DoctorReport } from './index.js';
import { CLI, dmaheap, NOBODY } from './vm.test-helpers.js';

const VIDEO = 44;
const MiB = 1 << 20;
/** The arm64 guest's kernel: the CMA heap beside the system heap, huge page sizes of 4 KiB-page arm64. */
const ARM64 = process.arch === 'arm64';
const HEAP_NAMES = ARM64 ? ['reserved', 'system'] : ['system'];
/** The fix doctor gives nobody for /dev/dma_heap/<name>. */
const udevFix = (name: string) => ({
  text: `a udev rule giving /dev/dma_heap/${name} to the group video, in /etc/udev/rules.d/90-dmaheap.rules, then add nobody to video (and log in again)`,
  udevRule: `SUBSYSTEM=="dma_heap", KERNEL=="${name}", GROUP="video", MODE="0660"`,
  commands: [
    `echo 'SUBSYSTEM=="dma_heap", KERNEL=="${name}", GROUP="video", MODE="0660"' >> /etc/udev/rules.d/90-dmaheap.rules`,
    'udevadm control --reload && udevadm trigger',
    'usermod -aG video nobody',
  ],
});
const heapNode = (name: string) => ({ name, cma: name === 'reserved', path: `/dev/dma_heap/${name}`, present: true, mode: '0600', owner: 'root', group: 'root' });

describe('dmaheap doctor (stock kernel)', () => {
  it(`as root: the system heap and udmabuf open, their limits, huge pages as set up, ${ARM64 ? 'the CMA area of cma=256M' : 'no CMA'}, exit 0`, async () => {
    const r = await dmaheap(['doctor', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as DoctorReport;
    expect(d.user).toMatchObject({ uid: 0, name: 'root' });
    expect(d.kernel.release).toMatch(ARM64 ? /^6\.12\.\d+-dmaheap-arm64$/ : /^6\.12\./);
    expect(d.heaps).toEqual({ dir: '/dev/dma_heap', present: true, nodes: HEAP_NAMES.map((n) => ({ ...heapNode(n), canOpen: true, error: null, fix: null })) });
    expect(d.udmabuf).toEqual({ path: '/dev/udmabuf', present: true, mode: '0600', owner: 'root', group: 'root', canOpen: true, error: null, fix: null, limits: { listLimit: 1024, sizeLimitMb: 64 } });
    if (ARM64) {
      // sysfs's counters of the area; its size and use are debugfs's, which is not mounted here.
      expect(d.cma).toMatchObject({ total: 256 * MiB, sysfs: 'read', debugfs: expect.stringMatching(/^debugfs is not mounted/) });
      expect(d.cma.free).toBeGreaterThan(0);
      expect(d.cma.free).toBeLessThanOrEqual(256 * MiB);
      expect(d.cma.areas).toEqual([expect.objectContaining({ name: 'reserved', pages: null, bytes: null, allocPagesSuccess: expect.any(Number), allocPagesFail: 0 })]);
    } else {
      expect(d.cma).toMatchObject({ total: null, free: null, areas: [] });
    }
    const sizes = ARM64 ? [[64 << 10, 0], [2 << 20, 64], [32 << 20, 0], [1 << 30, 0]] : [[2 << 20, 64], [1 << 30, 0]];
    expect(d.hugetlb).toMatchObject({ pageSize: 2 << 20, total: 64, sizes: sizes.map(([pageSize, pages]) => ({ pageSize, pages })) });
    expect(d.thp).toEqual({ enabled: expect.any(String), shmemEnabled: 'advise', defrag: expect.any(String) });
    // The caveats, decided by what this kernel does: its page initialisation as it reports it (Debian's clears
    // pages at allocation, the test bed's arm64 kernel does not, and there doctor measures udmabufs over
    // fallocated pages); the memory cgroup probe has nothing to measure in the root cgroup the tests run in.
    const caveat = (id: string) => d.caveats.find((c) => c.id === id);
    expect(d.caveats.map((c) => c.id)).toEqual(['udmabuf-large-folios', 'udmabuf-fallocate-uncleared', 'heap-memcg', 'system-heap-oom']);
    expect(caveat('udmabuf-large-folios')).toMatchObject({ applies: 'unknown', basis: 'unmeasured', text: expect.stringContaining('Here: 64 pages in the hugetlb pool') });
    const init = pageInit();
    expect(d.kernel.pageInit).toEqual(init);
    if (init.source === 'the boot log (mem auto-init)') expect(init.atAlloc).toBe(!ARM64);
    if (init.atAlloc === true) {
      expect(caveat('udmabuf-fallocate-uncleared')).toMatchObject({ applies: 'no', basis: 'reported' });
    } else {
      const probe = probeFallocatedUdmabuf({ bytes: 4 * MiB, dirtyBytes: 64 * MiB });
      console.log(`[doctor] fallocated udmabuf on ${d.kernel.release}: doctor: ${caveat('udmabuf-fallocate-uncleared')!.text.split('Here: ')[1]}; this process: ${probe.how}`);
      expect(caveat('udmabuf-fallocate-uncleared')).toMatchObject({ applies: probe.verdict, basis: 'measured' });
    }
    expect(caveat('heap-memcg')).toMatchObject({ applies: 'unknown', basis: 'unmeasured', text: expect.stringContaining('root memory cgroup') });
    expect(caveat('system-heap-oom')).toMatchObject({ applies: 'yes', basis: 'source' });
    // What openHeap gives here, the same as this process's registry says and opens.
    expect(d.openHeap.heaps).toEqual(listHeaps());
    const heap = openHeap('system');
    expect(d.openHeap.system).toMatchObject({ opens: { heap: heap.name, backing: heap.capabilities.backing, provider: '@dmaheap/system-heap' }, error: null });
    heap.close();
    expect(d.openHeap.system.opens!.backing).toBe('memfd+udmabuf');
    expect(d.openHeap.system.why).toBe('system from @dmaheap/system-heap (priority 10) is available');
    if (ARM64) {
      const cma = openHeap('cma');
      expect(d.openHeap.cma).toMatchObject({ opens: { heap: cma.name, backing: cma.capabilities.backing, provider: '@dmaheap/cma-heap' }, error: null });
      cma.close();
      expect(d.openHeap.cma.why).toBe('reserved from @dmaheap/cma-heap (priority 10) is available');
    } else {
      expect(d.openHeap.cma).toMatchObject({ opens: null, error: expect.stringMatching(/^no heap could be opened for "cma"/), why: 'no registered provider serves any of default_cma_region, linux,cma, reserved' });
    }
    expect(d.openHeap.loadErrors).toEqual([]);
    expect(d.problems).toEqual([]);
  });

  it('as nobody: neither opens, each with the udev rule that fixes it, openHeap fails, exit 3', async () => {
    const r = await dmaheap(['doctor', '--json'], { uid: NOBODY });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const d = JSON.parse(r.stdout) as DoctorReport;
    expect(d.user).toMatchObject({ uid: NOBODY, name: 'nobody', groupNames: ['nogroup'] });
    expect(d.heaps.nodes).toEqual(HEAP_NAMES.map((n) => ({ ...heapNode(n), canOpen: false, error: 'EACCES', fix: udevFix(n) })));
    expect(d.udmabuf).toMatchObject({ canOpen: false, error: 'EACCES', fix: { udevRule: 'KERNEL=="udmabuf", GROUP="video", MODE="0660"' }, limits: { listLimit: 1024, sizeLimitMb: 64 } });
    expect(d.openHeap.system).toMatchObject({
      opens: null,
      why: 'system from @dmaheap/system-heap (priority 10): no permission to open /dev/udmabuf read-write; system from @dmaheap/native (priority 0): no permission to open /dev/dma_heap/system (udev rules grant it)',
    });
    // One per node that does not open, and openHeap('system') failing (openHeap('cma') too on arm64: its heap is refused).
    expect(d.problems.map((p) => p.split(' ')[0])).toEqual([...HEAP_NAMES.map((n) => `/dev/dma_heap/${n}`), '/dev/udmabuf', "openHeap('system')"]);
    expect(d.problems.at(-1)).toMatch(/^openHeap\('system'\) fails: no heap could be opened for "system"/);
  });

  describe('with the fix applied (nodes of group video, mode 0660, in a private mount namespace)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-nodes-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const node = (from: string, name: string) => {
      const { rdev } = statSync(from);
      const path = join(dir, name);
      execFileSync('mknod', ['-m', '660', path, 'c', String((rdev >> 8) & 0xfff), String((rdev & 0xff) | ((rdev >> 12) & 0xfff00))]);
      execFileSync('chgrp', [String(VIDEO), path]);
      return path;
    };
    /** doctor as nobody (with `groups`), /dev/dma_heap and /dev/udmabuf replaced by the granted nodes. */
    const doctorGranted = async (groups: string) => {
      chmodSync(dir, 0o755);
      const heaps = join(dir, 'heaps');
      execFileSync('mkdir', ['-p', heaps]);
      chmodSync(heaps, 0o755);
      for (const name of HEAP_NAMES) node(`/dev/dma_heap/${name}`, `heaps/${name}`);
      const udmabuf = node('/dev/udmabuf', 'udmabuf');
      const script = `mount --bind ${heaps} /dev/dma_heap && mount --bind ${udmabuf} /dev/udmabuf && exec /usr/bin/setpriv --reuid=${NOBODY} --regid=${NOBODY} ${groups} -- "$NODE" ${CLI} doctor --json`;
      try {
        // Awaited, not blocking: a blocked test worker misses vitest's messages.
        const { stdout } = await promisify(execFile)('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, NODE: process.execPath } });
        return JSON.parse(stdout) as DoctorReport;
      } finally {
        rmSync(heaps, { recursive: true, force: true });
        rmSync(udmabuf, { force: true });
      }
    };

    it('nobody outside the group is told to join it', async () => {
      let d: DoctorReport | undefined;
      try {
        await doctorGranted('--clear-groups');
      } catch (err) {
        d = JSON.parse((err as { stdout: string }).stdout) as DoctorReport; // exit 3
      }
      expect(d!.heaps.nodes.map((n) => n.name)).toEqual(HEAP_NAMES);
      for (const n of d!.heaps.nodes)
        expect(n).toMatchObject({ mode: '0660', group: 'video', canOpen: false, fix: { text: 'add nobody to the group "video", which may open it (then log in again)', commands: ['usermod -aG video nobody'] } });
      expect(d!.udmabuf).toMatchObject({ mode: '0660', group: 'video', canOpen: false, fix: { commands: ['usermod -aG video nobody'] } });
    });

    it('nobody in group video opens both, and openHeap gives the userspace system heap: exit 0', async () => {
      const d = await doctorGranted(`--groups=${VIDEO}`);
      expect(d.heaps.nodes.map((n) => [n.name, n.canOpen, n.fix])).toEqual(HEAP_NAMES.map((n) => [n, true, null]));
      expect(d.udmabuf).toMatchObject({ canOpen: true, fix: null });
      expect(d.openHeap.system.opens).toMatchObject({ backing: 'memfd+udmabuf', provider: '@dmaheap/system-heap' });
      expect(d.problems).toEqual([]);
    });
  });

  it("in a memory cgroup of its own, doctor measures whether the system heap's pages are charged, as a second process there does", async () => {
    const root = '/sys/fs/cgroup';
    const mounted = !existsSync(`${root}/cgroup.controllers`);
    if (mounted) execFileSync('mount', ['-t', 'cgroup2', 'none', root]);
    const dir = `${root}/dmaheap-doctor-${process.pid}`;
    const inCgroup = (argv: string[]) =>
      promisify(execFile)('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh', ...argv], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
    try {
      writeFileSync(`${root}/cgroup.subtree_control`, '+memory');
      mkdirSync(dir);
      const d = JSON.parse((await inCgroup([process.execPath, CLI, 'doctor', '--json'])).stdout) as DoctorReport;
      const script = `import { probeHeapMemcg } from '@dmaheap/native'; console.log(JSON.stringify(probeHeapMemcg({ bytes: ${16 * MiB} })))`;
      const probe = JSON.parse((await inCgroup([process.execPath, '--input-type=module', '-e', script])).stdout) as ReturnType<typeof probeHeapMemcg>;
      const memcg = d.caveats.find((c) => c.id === 'heap-memcg')!;
      console.log(`[doctor] heap pages in a memory cgroup on ${d.kernel.release}: doctor: ${memcg.text.split('Here: ')[1]} second process: ${probe.how}`);
      expect(probe.verdict).not.toBe('unmeasured');
      expect(probe.detail.cgroup).toBe(dir);
      expect(memcg).toMatchObject({ basis: 'measured', applies: probe.verdict === 'yes' ? 'no' : 'yes', text: expect.stringContaining(`buffer were charged to ${dir}`) });
    } finally {
      if (existsSync(dir)) rmdirSync(dir);
      if (mounted) execFileSync('umount', [root]);
    }
  });

  it('as text (captured for the README)', async () => {
    for (const uid of [undefined, NOBODY]) {
      const r = await dmaheap(['doctor'], uid === undefined ? {} : { uid });
      console.log(`[doctor] ${uid === undefined ? 'root' : 'nobody'}, exit ${r.status}:\n${r.stdout}`);
      expect(r.stdout).toMatch(/^dma-buf heaps \(\/dev\/dma_heap\)$/m);
      expect(r.stdout).toMatch(/^What openHeap opens here$/m);
      expect(r.stdout).not.toContain('\x1b[');
    }
  });
});
