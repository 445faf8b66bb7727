// The native layer against the real kernel (Debian 6.12 in the VM): dma-buf heaps, udmabuf, sync, names,
// fdinfo, mappings, and every bad input giving a typed error without leaking an fd.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClosedError, DmaHeapError, listHeaps, openHeap, PermissionDeniedError } from '@dmaheap/core';
import {
  addSeals,
  bufSetName,
  bufSync,
  bufSyncEnd,
  bufSyncStart,
  closeFd,
  constants,
  dupFd,
  fallocate,
  ftruncate,
  heapAlloc,
  heapAllocAsync,
  kernelHeap,
  listDmaHeaps,
  memfdCreate,
  mmapFd,
  munmap,
  openDevice,
  openFdCount,
  pagemap,
  readFdInfo,
  readUdmabufLimits,
  udmabufCreate,
  udmabufCreateList,
} from './index.js';

const MiB = 1024 * 1024;
const nativeEntry = createRequire(import.meta.url).resolve('@dmaheap/native');
const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));

function fill(view: Uint8Array, seed: number): void {
  for (let i = 0; i < view.length; i++) view[i] = (i * 7 + seed) & 0xff;
}
function firstMismatch(view: Uint8Array, seed: number): number {
  for (let i = 0; i < view.length; i++) if (view[i] !== ((i * 7 + seed) & 0xff)) return i;
  return -1;
}

/** A memfd ready for udmabuf: sealable, sized, shrink-sealed. */
function udmabufMemfd(size: number): number {
  const memfd = memfdCreate('dmaheap-test', { allowSealing: true });
  ftruncate(memfd, size);
  addSeals(memfd, ['shrink']);
  return memfd;
}

describe('the kernel in the VM', () => {
  it('has the system heap and udmabuf', () => {
    expect(listDmaHeaps()).toContain('system');
    const limits = readUdmabufLimits();
    expect(limits.listLimit).toBeGreaterThan(0);
    expect(limits.sizeLimitMb).toBeGreaterThan(0);
    expect(listHeaps().find((h) => h.name === 'system')).toMatchObject({ provider: '@dmaheap/native', available: true });
  });
});

describe('dma-buf heap allocation', () => {
  it("kernelHeap('system'): map, write, sync, read back through a second mapping", () => {
    const fds = openFdCount();
    const heap = kernelHeap('system');
    const buf = heap.allocate(MiB + 1, { name: 'roundtrip' });
    expect(buf.size).toBe(MiB + 4096);
    buf.withCpuAccess('write', (v) => fill(v, 3));
    // A second, independent mapping of the same dma-buf through a dup'ed fd.
    const fd2 = buf.dup();
    const second = new Uint8Array(mmapFd(fd2, { length: buf.size }));
    bufSyncStart(fd2, 'read');
    expect(firstMismatch(second, 3)).toBe(-1);
    bufSyncEnd(fd2, 'read');
    munmap(second.buffer as ArrayBuffer);
    closeFd(fd2);
    buf.close();
    heap.close();
    expect(openFdCount()).toBe(fds);
  });

  it('fdinfo shows size, exporter, name and the reference count', () => {
    const heapFd = openDevice('/dev/dma_heap/system');
    const fd = heapAlloc(heapFd, 3 * 4096);
    try {
      bufSetName(fd, 'fdinfo-test');
      expect(readFdInfo(fd)).toMatchObject({ size: 3 * 4096, count: 1, expName: 'system', name: 'fdinfo-test' });
      const d = dupFd(fd);
      expect(readFdInfo(fd).count).toBe(2);
      closeFd(d);
      expect(readFdInfo(fd).count).toBe(1);
      // A mapping holds a reference too.
      const map = mmapFd(fd, { length: 3 * 4096 });
      expect(readFdInfo(fd).count).toBe(2);
      munmap(map);
      expect(readFdInfo(fd).count).toBe(1);
    } finally {
      closeFd(fd);
      closeFd(heapFd);
    }
  });

  it('a request beyond free memory is refused with OutOfMemoryError instead of summoning the OOM killer', () => {
    const heap = kernelHeap('system');
    const fds = openFdCount();
    const available = Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    let err: unknown;
    try {
      heap.allocate(Math.floor((available + 256 * MiB) / 4096) * 4096).close();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_DMAHEAP_OUT_OF_MEMORY', heap: 'system' });
    expect(openFdCount()).toBe(fds);
    heap.allocate(4096).close();
    heap.close();
  });
});

describe('allocations on the thread pool: heapAllocAsync and allocateAsync', () => {
  it("kernelHeap('system').allocateAsync gives what allocate gives, counted, and its fd closes with it", async () => {
    const heap = kernelHeap('system');
    const fds = openFdCount();
    const buf = await heap.allocateAsync(MiB + 1, { name: 'async' });
    expect(buf.size).toBe(MiB + 4096);
    expect(openFdCount()).toBe(fds + 1);
    expect(buf.info()).toMatchObject({ size: MiB + 4096, count: 1, exporter: 'system', name: 'async' });
    expect(readFdInfo(buf.fd).flags & constants.O_CLOEXEC).toBe(constants.O_CLOEXEC);
    buf.withCpuAccess('write', (v) => fill(v, 5));
    buf.withCpuAccess('read', (v) => expect(firstMismatch(v, 5)).toBe(-1));
    expect(heap.stats()).toMatchObject({ liveBuffers: 1, liveBytes: MiB + 4096, allocations: 1, failures: 0 });
    // Several at once: each its own buffer.
    const many = await Promise.all([1, 2, 3, 4].map((i) => heap.allocateAsync(i * 64 * 1024)));
    expect(many.map((b) => b.size)).toEqual([1, 2, 3, 4].map((i) => i * 64 * 1024));
    expect(new Set(many.map((b) => b.fd)).size).toBe(4);
    for (const b of [buf, ...many]) b.close();
    expect(openFdCount()).toBe(fds);
    expect(heap.stats()).toMatchObject({ liveBuffers: 0, liveBytes: 0, allocations: 5, failures: 0 });
    heap.close();
  });

  it('allocateAsync rejects bad input with the typed errors allocate throws, and counts its failures as allocate does', async () => {
    const heap = kernelHeap('system');
    const fds = openFdCount();
    const available = Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    const beyond = Math.floor((available + 256 * MiB) / 4096) * 4096; // refused by the memory guard
    const inputs: Array<[unknown, unknown]> = [
      [0, undefined], [-1, undefined], [0.5, undefined], ['4096', undefined], [4096n, undefined], [2 ** 53, undefined],
      [4096, { name: 42 }], [4096, { name: 'n'.repeat(32) }], [4096, { bogus: true }], [4096, 'name'], [beyond, undefined],
    ];
    for (const [size, options] of inputs) {
      let sync: unknown;
      try {
        heap.allocate(size as number, options as object);
      } catch (e) {
        sync = e;
      }
      const async = await heap.allocateAsync(size as number, options as object).then(
        () => new Error('resolved'),
        (e: unknown) => e,
      );
      const what = `${String(size)}, ${JSON.stringify(options)}`;
      expect(DmaHeapError.isInstance(sync), what).toBe(true);
      expect((async as Error).constructor, what).toBe((sync as Error).constructor);
      expect(async, what).toMatchObject({ code: (sync as DmaHeapError).code, message: (sync as Error).message, heap: 'system' });
    }
    expect(openFdCount()).toBe(fds);
    expect(heap.stats()).toMatchObject({ liveBuffers: 0, allocations: 0, failures: 2 }); // the guard's refusal, each way
    heap.close();
    const closed = await heap.allocateAsync(4096).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(closed).toBeInstanceOf(ClosedError);
    expect((closed as Error).message).toBe('allocate() on closed heap "system"');
  });

  it('a heap closed while allocateAsync waits for the kernel: ClosedError, and the new fd closed', async () => {
    const fds = openFdCount();
    const heap = kernelHeap('system');
    const pending = heap.allocateAsync(16 * MiB);
    heap.close(); // the ioctl works on a copy of the heap's fd
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClosedError);
    expect(openFdCount()).toBe(fds);
  });

  it('heapAllocAsync: a dma-buf fd from the thread pool, its flags as asked, the heap fd closable while it waits', async () => {
    const heapFd = openDevice('/dev/dma_heap/system');
    const fds = openFdCount();
    const pending = heapAllocAsync(heapFd, 64 * 1024, { cloexec: false });
    closeFd(heapFd);
    const fd = await pending;
    expect(readFdInfo(fd)).toMatchObject({ size: 64 * 1024, expName: 'system', count: 1 });
    expect(readFdInfo(fd).flags & constants.O_CLOEXEC).toBe(0);
    closeFd(fd);
    expect(openFdCount()).toBe(fds - 1);
    const memfd = udmabufMemfd(4096);
    await expect(heapAllocAsync(memfd, 4096)).rejects.toMatchObject({ code: 'ENOTTY', syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)', fd: memfd });
    closeFd(memfd);
  });

  it('the event loop runs while allocateAsync waits for the kernel; allocate blocks it', async () => {
    const heap = kernelHeap('system');
    const size = 256 * MiB;
    const ticking = async (allocate: () => unknown): Promise<{ ticks: number; ms: number }> => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      try {
        ((await allocate()) as { close(): void }).close();
      } finally {
        clearInterval(timer);
      }
      return { ticks, ms: performance.now() - t0 };
    };
    const sync = await ticking(() => heap.allocate(size));
    const async = await ticking(() => heap.allocateAsync(size));
    heap.close();
    console.info(`256 MiB from the system heap: allocate ${sync.ms.toFixed(0)} ms, ${sync.ticks} timer ticks; allocateAsync ${async.ms.toFixed(0)} ms, ${async.ticks} ticks (5 ms interval)`);
    expect(sync.ticks).toBe(0);
    if (async.ms > 50) expect(async.ticks).toBeGreaterThan(0);
  });

  it('workers terminated with allocations in flight leave no fd: those completing as the worker is torn down are closed', () => {
    const addon = (createRequire(import.meta.url)('node-gyp-build') as { path: (dir: string) => string }).path(PKG_DIR);
    const child = fileURLToPath(new URL('./children/terminate-alloc.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [child, addon, '/dev/dma_heap/system', String(4 * MiB), '12'], { encoding: 'utf8', timeout: 170_000 });
    expect(r.status, `${r.stderr} (signal ${r.signal})`).toBe(0);
    const out = JSON.parse(r.stdout) as { rounds: number; settled: number; inFlight: number; fdsLeft: number; dmabufsLeft: number };
    console.info(`12 workers terminated: ${out.settled} allocations settled, ${out.inFlight} in flight at termination; fds left ${out.fdsLeft}, dma-bufs left ${out.dmabufsLeft}`);
    expect(out).toMatchObject({ rounds: 12, fdsLeft: 0, dmabufsLeft: 0 });
    // Each worker has four on the way, but for a moment after one settles and before the next is queued.
    expect(out.inFlight).toBeGreaterThanOrEqual(3 * 12);
    expect(out.settled).toBeGreaterThan(0);
  });
});

describe('udmabuf', () => {
  it('a udmabuf over a memfd: written through the dma-buf, read through the memfd and back', () => {
    const fds = openFdCount();
    const size = 2 * MiB;
    const memfd = udmabufMemfd(size);
    const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
    const buf = udmabufCreate(dev, { memfd, offset: 0, size });
    expect(readFdInfo(buf)).toMatchObject({ size, expName: 'udmabuf', count: 1 });
    const viaBuf = new Uint8Array(mmapFd(buf, { length: size }));
    bufSyncStart(buf, 'write');
    fill(viaBuf, 9);
    bufSyncEnd(buf, 'write');
    const viaMemfd = new Uint8Array(mmapFd(memfd, { length: size }));
    expect(firstMismatch(viaMemfd, 9)).toBe(-1);
    // pagemap sees the memfd's pages (root): present, with frame numbers.
    const pages = pagemap(viaMemfd.buffer as ArrayBuffer, 0, 4 * 4096);
    expect(pages.every((p) => p.present && p.pfn > 0n)).toBe(true);
    // ...but a dma-buf's own mmap is a PFN mapping that pagemap reports as absent.
    expect(pagemap(viaBuf.buffer as ArrayBuffer, 0, 4096)[0]!.present).toBe(false);
    munmap(viaBuf.buffer as ArrayBuffer);
    munmap(viaMemfd.buffer as ArrayBuffer);
    for (const fd of [buf, dev, memfd]) closeFd(fd);
    expect(openFdCount()).toBe(fds);
  });

  it('UDMABUF_CREATE_LIST joins ranges of several memfds in order', () => {
    const a = udmabufMemfd(MiB);
    const b = udmabufMemfd(MiB);
    const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
    const ma = new Uint8Array(mmapFd(a, { length: MiB }));
    const mb = new Uint8Array(mmapFd(b, { length: MiB }));
    ma.fill(0xaa);
    mb.fill(0xbb);
    const buf = udmabufCreateList(dev, [
      { memfd: b, offset: 64 * 1024, size: 4096 },
      { memfd: a, offset: 0, size: 8192 },
    ]);
    const view = new Uint8Array(mmapFd(buf, { length: 3 * 4096 }));
    expect([view[0], view[4095], view[4096], view[3 * 4096 - 1]]).toEqual([0xbb, 0xbb, 0xaa, 0xaa]);
    munmap(view.buffer as ArrayBuffer);
    munmap(ma.buffer as ArrayBuffer);
    munmap(mb.buffer as ArrayBuffer);
    for (const fd of [buf, dev, a, b]) closeFd(fd);
  });

  it('the kernel refuses what KERNEL.md says it refuses', () => {
    const fds = openFdCount();
    const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
    const unsealed = memfdCreate('unsealed', { allowSealing: true });
    ftruncate(unsealed, 4096);
    const sealed = udmabufMemfd(4096);
    const limits = readUdmabufLimits();
    const expectErrno = (fn: () => unknown, code: string) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code, syscall: expect.stringMatching(/ioctl/) });
    };
    try {
      expectErrno(() => udmabufCreate(dev, { memfd: unsealed, size: 4096 }), 'EINVAL'); // no shrink seal
      expectErrno(() => udmabufCreate(dev, { memfd: sealed, offset: 4096, size: 4096 }), 'EINVAL'); // past the end
      // Over size_limit_mb.
      const big = udmabufMemfd((limits.sizeLimitMb! + 1) * MiB);
      expectErrno(() => udmabufCreate(dev, { memfd: big, size: (limits.sizeLimitMb! + 1) * MiB }), 'EINVAL');
      closeFd(big);
      // Over list_limit.
      const items = Array.from({ length: limits.listLimit! + 1 }, () => ({ memfd: sealed, offset: 0, size: 4096 }));
      expectErrno(() => udmabufCreateList(dev, items), 'EINVAL');
      // END before START is EINVAL on udmabuf.
      const buf = udmabufCreate(dev, { memfd: sealed, size: 4096 });
      expectErrno(() => bufSync(buf, constants.DMA_BUF_SYNC_END | constants.DMA_BUF_SYNC_READ), 'EINVAL');
      closeFd(buf);
    } finally {
      for (const fd of [dev, unsealed, sealed]) closeFd(fd);
    }
    expect(openFdCount()).toBe(fds);
  });
});

describe('bad input to every native call: a typed error and no fd left open', () => {
  const heapFd = () => openDevice('/dev/dma_heap/system');
  const cases: Array<[string, (ctx: { heap: number; buf: number; memfd: number; dev: number }) => unknown, RegExp | string]> = [
    ['openDevice of a missing path', () => openDevice('/dev/dma_heap/nope'), 'ENOENT'],
    ['openDevice with a non-string path', () => openDevice(42 as never), 'ERR_INVALID_ARG_VALUE'],
    ['closeFd(-1)', () => closeFd(-1), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['closeFd of a closed fd', () => closeFd(99999), 'EBADF'],
    ['dupFd(NaN)', () => dupFd(Number.NaN), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc len 0', ({ heap }) => heapAlloc(heap, 0), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc len -1', ({ heap }) => heapAlloc(heap, -1), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc len 0.5', ({ heap }) => heapAlloc(heap, 0.5), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc len 2^53', ({ heap }) => heapAlloc(heap, 2 ** 53), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc with heap flags', ({ heap }) => heapAlloc(heap, 4096, { heapFlags: 1 }), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc with bad fd flags', ({ heap }) => heapAlloc(heap, 4096, { fdFlags: 0o100 }), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['heapAlloc on a memfd', ({ memfd }) => heapAlloc(memfd, 4096), 'ENOTTY'],
    ['bufSync with no direction', ({ buf }) => bufSync(buf, constants.DMA_BUF_SYNC_START), 'ERR_INVALID_ARG_VALUE'],
    ['bufSync with unknown bits', ({ buf }) => bufSync(buf, 0x100 | 1), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['bufSync on a memfd', ({ memfd }) => bufSync(memfd, 1), 'ENOTTY'],
    ['bufSetName of 32 bytes', ({ buf }) => bufSetName(buf, 'n'.repeat(32)), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['bufSetName with NUL', ({ buf }) => bufSetName(buf, 'a\0b'), 'ERR_INVALID_ARG_VALUE'],
    ['bufSetName on a memfd', ({ memfd }) => bufSetName(memfd, 'x'), 'ENOTTY'],
    ['mmapFd length 0', ({ buf }) => mmapFd(buf, { length: 0 }), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['mmapFd unaligned offset', ({ buf }) => mmapFd(buf, { offset: 1, length: 4096 }), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['mmapFd past the memfd end', ({ memfd }) => mmapFd(memfd, { length: 1 << 30 }), 'ERR_OUT_OF_RANGE'],
    ['mmapFd of a closed fd', () => mmapFd(99999, { length: 4096 }), 'EBADF'],
    ['munmap of a non-ArrayBuffer', () => munmap({} as never), 'ERR_INVALID_ARG_VALUE'],
    ['memfdCreate with a 300-byte name', () => memfdCreate('m'.repeat(300)), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['memfdCreate hugePageSize without hugetlb', () => memfdCreate('x', { hugePageSize: 2 * MiB }), 'ERR_INVALID_ARG_VALUE'],
    ['ftruncate negative', ({ memfd }) => ftruncate(memfd, -1), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['ftruncate a sealed memfd smaller', ({ memfd }) => ftruncate(memfd, 0), 'EPERM'],
    ['fallocate punch without keep-size', ({ memfd }) => fallocate(memfd, 0, 4096, constants.FALLOC_FL_PUNCH_HOLE), 'ERR_INVALID_ARG_VALUE'],
    ['addSeals with an unknown name', ({ memfd }) => addSeals(memfd, ['glue' as never]), 'ERR_INVALID_ARG_VALUE'],
    ['udmabufCreate unaligned size', ({ dev, memfd }) => udmabufCreate(dev, { memfd, size: 100 }), /ERR_INVALID_ARG_VALUE|ERR_OUT_OF_RANGE/],
    ['udmabufCreate from a dma-buf', ({ dev, buf }) => udmabufCreate(dev, { memfd: buf, size: 4096 }), /EBADFD|EINVAL/],
    ['udmabufCreateList empty', ({ dev }) => udmabufCreateList(dev, []), 'ERR_INVALID_ARG_VALUE'],
    ['udmabufCreate on the heap device', ({ heap, memfd }) => udmabufCreate(heap, { memfd, size: 4096 }), /ENOTTY|EINVAL/],
  ];
  for (const [what, call, code] of cases) {
    it(what, () => {
      const heap = heapFd();
      const buf = heapAlloc(heap, 4096);
      const memfd = udmabufMemfd(4096);
      const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
      const before = openFdCount();
      let err: unknown;
      try {
        call({ heap, buf, memfd, dev });
      } catch (e) {
        err = e;
      }
      expect(err, 'it must throw').toBeInstanceOf(Error);
      expect((err as { code: string }).code).toMatch(code);
      expect(openFdCount()).toBe(before);
      for (const fd of [heap, buf, memfd, dev]) closeFd(fd);
    });
  }
});

describe('mappings', () => {
  it('after munmap the old view is detached: reads give nothing, writes go nowhere', () => {
    const memfd = udmabufMemfd(64 * 1024);
    const view = new Uint8Array(mmapFd(memfd, { length: 64 * 1024 }));
    view[10] = 42;
    munmap(view.buffer as ArrayBuffer);
    expect(view.length).toBe(0);
    expect(view.buffer.byteLength).toBe(0);
    view[10] = 7;
    expect(view[10]).toBeUndefined();
    // Methods on a detached view throw a TypeError; none reaches the unmapped memory.
    expect(() => view.fill(1)).toThrow(TypeError);
    munmap(view.buffer as ArrayBuffer); // twice is harmless
    // The data was in the memfd all along.
    const again = new Uint8Array(mmapFd(memfd, { length: 64 * 1024 }));
    expect(again[10]).toBe(42);
    munmap(again.buffer as ArrayBuffer);
    closeFd(memfd);
  });

  it('a DmaBuf view after unmap() and after close() is detached, in a child process that must exit cleanly', () => {
    const script = `
      const { kernelHeap } = await import(${JSON.stringify(nativeEntry)});
      const heap = kernelHeap('system');
      const buf = heap.allocate(1 << 20);
      const v = buf.map();
      v.fill(1);
      buf.unmap();
      v[0] = 5; let fillA = 'no error'; try { v.fill(9); } catch (e) { fillA = e.constructor.name; } const a = v[100];
      const w = buf.map();
      buf.close();
      w[0] = 5; let fillB = 'no error'; try { w.fill(3); } catch (e) { fillB = e.constructor.name; } const b = w[100];
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ a: a ?? null, b: b ?? null, vl: v.length, wl: w.length, fillA, fillB }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ a: null, b: null, vl: 0, wl: 0, fillA: 'TypeError', fillB: 'TypeError' });
  });
});

describe('permissions', () => {
  it('an unprivileged user gets PermissionDeniedError with the udev hint, and openHeap says why', () => {
    const script = `
      const core = await import(${JSON.stringify(createRequire(nativeEntry).resolve('@dmaheap/core'))});
      const { kernelHeap } = await import(${JSON.stringify(nativeEntry)});
      // Modules are loaded; now become nobody (the checkout may not be readable by other users).
      process.setgid(65534);
      process.setuid(65534);
      const out = {};
      try { kernelHeap('system'); } catch (e) { out.code = e.code; out.errno = e.errno; out.hint = e.hint; out.isInstance = core.DmaHeapError.isInstance(e); }
      try { core.openHeap('system'); } catch (e) { out.openCode = e.code; out.openMessage = e.message; }
      out.listed = core.listHeaps().find((h) => h.name === 'system');
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out).toMatchObject({ code: 'ERR_DMAHEAP_PERMISSION_DENIED', errno: -13, isInstance: true, openCode: 'ERR_DMAHEAP_HEAP_NOT_FOUND' });
    expect(out.hint).toMatch(/udev/);
    expect(out.openMessage).toMatch(/no permission/);
    expect(out.listed).toMatchObject({ available: false, reason: expect.stringMatching(/permission/) });
    expect(new PermissionDeniedError('x').hint).toBe(out.hint);
  });

  it('openHeap of a missing heap lists what is available', () => {
    let err: unknown;
    try {
      openHeap('no-such-heap');
    } catch (e) {
      err = e;
    }
    expect(DmaHeapError.isInstance(err)).toBe(true);
    expect((err as DmaHeapError).code).toBe('ERR_DMAHEAP_HEAP_NOT_FOUND');
    expect((err as Error).message).toMatch(/available: .*system/);
  });
});
