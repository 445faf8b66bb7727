// Host tests: real system calls on the host kernel, no fakes. /dev/dma_heap and /dev/udmabuf are
// absent here; their ioctls are exercised on fds that are not heaps/udmabuf (ENOTTY), which still
// runs every C path up to the kernel, and for real in the VM suite.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from './binding.js';
import { invalidArgument, isSystemError, systemError } from './errors.js';
import {
  MAX_MAPPING,
  PAGE_SIZE,
  addSeals,
  bufSetName,
  bufSync,
  bufSyncEnd,
  bufSyncStart,
  closeFd,
  constants as C,
  dmaBufSyncFlags,
  dupFd,
  fallocate,
  ftruncate,
  getSeals,
  heapAlloc,
  heapAllocAsync,
  listDmaHeaps,
  madvise,
  mappingAddress,
  memfdCreate,
  mmapFd,
  munmap,
  openDevice,
  openFdCount,
  pagemap,
  readFdInfo,
  readUdmabufLimits,
  sealNames,
  udmabufCreate,
  udmabufCreateList,
} from './index.js';

const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const isRoot = process.getuid?.() === 0;

// Resources opened by a test, released after it even when an assertion fails.
const fds: number[] = [];
const maps: ArrayBuffer[] = [];
function track<T extends number | ArrayBuffer>(r: T): T {
  if (typeof r === 'number') fds.push(r);
  else maps.push(r);
  return r;
}
afterEach(() => {
  for (const ab of maps.splice(0)) munmap(ab);
  for (const fd of fds.splice(0)) {
    try {
      closeFd(fd);
    } catch {
      // closed by the test itself
    }
  }
});

/** A sized memfd, tracked. */
function memfd(size: number, options: Parameters<typeof memfdCreate>[1] = {}): number {
  const fd = track(memfdCreate('dmaheap-test', options));
  if (size > 0) ftruncate(fd, size);
  return fd;
}

function mapped(addr: bigint): boolean {
  const prefix = addr.toString(16) + '-';
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').some((l) => l.startsWith(prefix));
}

function catchError(fn: () => unknown): Record<string, unknown> & Error {
  try {
    fn();
  } catch (e) {
    return e as Record<string, unknown> & Error;
  }
  throw new Error('expected a throw');
}

function expectSystemError(fn: () => unknown, shape: { code: string; errno: number; syscall: string; path?: string; fd?: number }) {
  const e = catchError(fn);
  expect(e).toBeInstanceOf(Error);
  expect(e).not.toBeInstanceOf(TypeError);
  expect(e).not.toBeInstanceOf(RangeError);
  expect(e).toMatchObject(shape);
  expect(isSystemError(e, shape.code)).toBe(true);
  const where = shape.path === undefined ? shape.syscall : `${shape.syscall} '${shape.path}'`;
  expect(e.message).toMatch(new RegExp(`^${shape.code}: .+, ${where.replace(/[()[\]]/g, '\\$&')}$`));
  if (shape.path === undefined) expect(e).not.toHaveProperty('path');
  if (shape.fd === undefined) expect(e).not.toHaveProperty('fd');
  return e;
}

describe('constants and errors', () => {
  it('exports the header values TS relies on', () => {
    expect(PAGE_SIZE).toBeGreaterThanOrEqual(4096);
    expect(PAGE_SIZE & (PAGE_SIZE - 1)).toBe(0);
    expect(C.O_RDWR).toBe(fs.constants.O_RDWR);
    expect(C.MFD_HUGE_2MB).toBe(21 * 2 ** C.MFD_HUGE_SHIFT);
    expect(C.DMA_BUF_SYNC_RW).toBe(C.DMA_BUF_SYNC_READ | C.DMA_BUF_SYNC_WRITE);
    expect(C.F_SEAL_FUTURE_WRITE).toBe(0x10);
    expect(C.MADV_POPULATE_WRITE).toBe(23);
  });

  it('systemError has Node’s system-error shape, also for errnos libuv does not know', () => {
    const e = systemError('ioctl(DMA_HEAP_IOCTL_ALLOC)', -12, { fd: 7 });
    expect(e).toMatchObject({ code: 'ENOMEM', errno: -12, syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)', fd: 7 });
    expect(e.message).toBe('ENOMEM: not enough memory, ioctl(DMA_HEAP_IOCTL_ALLOC)');
    // Same text as Node's own fs error for the same errno.
    const nodeErr = catchError(() => fs.openSync('/nonexistent/dmaheap', 'r'));
    const ours = systemError('open', -2, { path: '/nonexistent/dmaheap' });
    expect(ours.message).toBe(nodeErr.message);
    expect({ ...ours }).toEqual({ ...nodeErr });
    expect(systemError('ioctl(UDMABUF_CREATE)', -77)).toMatchObject({ code: 'EBADFD', errno: -77 });
    expect(systemError('x', 9)).toMatchObject({ code: 'EBADF', errno: -9 });
  });

  it('invalidArgument gives TypeError/RangeError with Node codes', () => {
    const t = invalidArgument('bad');
    expect(t).toBeInstanceOf(TypeError);
    expect(t.code).toBe('ERR_INVALID_ARG_VALUE');
    const r = invalidArgument('far', 'ERR_OUT_OF_RANGE');
    expect(r).toBeInstanceOf(RangeError);
    expect(r.code).toBe('ERR_OUT_OF_RANGE');
  });
});

describe('fds', () => {
  it('openDevice opens with O_CLOEXEC by default, and without when asked', () => {
    const a = track(openDevice('/dev/null', C.O_RDWR));
    const b = track(openDevice('/dev/null', C.O_RDONLY, { cloexec: false }));
    const fa = readFdInfo(a).flags;
    expect(fa & C.O_ACCMODE).toBe(C.O_RDWR);
    expect(fa & C.O_CLOEXEC).toBe(C.O_CLOEXEC);
    expect(readFdInfo(b).flags & C.O_CLOEXEC).toBe(0);
  });

  it('opening a missing device gives ENOENT with path', () => {
    for (const p of ['/dev/udmabuf', '/dev/dma_heap/system']) {
      if (fs.existsSync(p)) continue; // present: that is the VM suite's business
      expectSystemError(() => openDevice(p, C.O_RDWR), { code: 'ENOENT', errno: -2, syscall: 'open', path: p });
    }
    expectSystemError(() => openDevice('/nonexistent/dmaheap'), { code: 'ENOENT', errno: -2, syscall: 'open', path: '/nonexistent/dmaheap' });
  });

  it('dup gives a new close-on-exec fd on the same open file', () => {
    const fd = memfd(PAGE_SIZE, { cloexec: false });
    fs.writeSync(fd, Buffer.from('hello'));
    const d = track(dupFd(fd));
    expect(d).not.toBe(fd);
    const a = readFdInfo(fd);
    const b = readFdInfo(d);
    expect(b.ino).toBeTypeOf('number');
    expect(b.ino).toBe(a.ino);
    expect(b.mntId).toBe(a.mntId);
    expect(b.pos).toBe(5); // shared file position: the same open file description
    expect(a.flags & C.O_CLOEXEC).toBe(0);
    expect(b.flags & C.O_CLOEXEC).toBe(C.O_CLOEXEC);
    closeFd(fd);
    expect(fs.fstatSync(d).size).toBe(PAGE_SIZE); // the dup outlives the original
  });

  it('closing a closed fd is EBADF with fd; readFdInfo of it is EBADF', () => {
    const fd = memfdCreate('closed');
    closeFd(fd);
    expectSystemError(() => closeFd(fd), { code: 'EBADF', errno: -9, syscall: 'close', fd });
    expectSystemError(() => dupFd(fd), { code: 'EBADF', errno: -9, syscall: 'fcntl(F_DUPFD_CLOEXEC)', fd });
    expectSystemError(() => readFdInfo(fd), { code: 'EBADF', errno: -9, syscall: 'open', fd, path: `/proc/self/fdinfo/${fd}` });
  });

  it('openFdCount counts fds exactly', () => {
    const before = openFdCount();
    expect(before).toBe(fs.readdirSync('/proc/self/fd').length - 1);
    const fd = memfdCreate('count');
    expect(openFdCount()).toBe(before + 1);
    closeFd(fd);
    expect(openFdCount()).toBe(before);
  });
});

describe('memfd, seals, fallocate', () => {
  it('memfd_create: named, cloexec by default, sealing only when allowed', () => {
    const fd = memfd(0);
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:dmaheap-test (deleted)');
    expect(readFdInfo(fd).flags & C.O_CLOEXEC).toBe(C.O_CLOEXEC);
    expect(getSeals(fd)).toBe(C.F_SEAL_SEAL); // no MFD_ALLOW_SEALING: sealed against seals
    expectSystemError(() => addSeals(fd, ['shrink']), { code: 'EPERM', errno: -1, syscall: 'fcntl(F_ADD_SEALS)', fd });
    const s = memfd(0, { allowSealing: true });
    expect(getSeals(s)).toBe(0);
  });

  it('shrink and grow seals make ftruncate fail with EPERM', () => {
    const fd = memfd(3 * PAGE_SIZE, { allowSealing: true });
    addSeals(fd, ['shrink']);
    expect(getSeals(fd)).toBe(C.F_SEAL_SHRINK);
    expect(sealNames(getSeals(fd))).toEqual(['shrink']);
    const e = expectSystemError(() => ftruncate(fd, PAGE_SIZE), { code: 'EPERM', errno: -1, syscall: 'ftruncate', fd });
    expect(e.message).toBe('EPERM: operation not permitted, ftruncate');
    ftruncate(fd, 4 * PAGE_SIZE); // growing is still allowed
    addSeals(fd, C.F_SEAL_GROW);
    expectSystemError(() => ftruncate(fd, 5 * PAGE_SIZE), { code: 'EPERM', errno: -1, syscall: 'ftruncate', fd });
    expectSystemError(() => fallocate(fd, 4 * PAGE_SIZE, PAGE_SIZE), { code: 'EPERM', errno: -1, syscall: 'fallocate', fd });
    expect(fs.fstatSync(fd).size).toBe(4 * PAGE_SIZE);
    addSeals(fd, ['seal']);
    expect(sealNames(getSeals(fd))).toEqual(['seal', 'shrink', 'grow']);
    expectSystemError(() => addSeals(fd, ['write']), { code: 'EPERM', errno: -1, syscall: 'fcntl(F_ADD_SEALS)', fd });
  });

  it('getSeals on a file that cannot be sealed is EINVAL', () => {
    const fd = track(openDevice('/dev/null'));
    expectSystemError(() => getSeals(fd), { code: 'EINVAL', errno: -22, syscall: 'fcntl(F_GET_SEALS)', fd });
  });

  it('fallocate allocates, punching a hole gives pages back and reads as zeros', () => {
    const fd = memfd(0);
    fallocate(fd, 0, 16 * PAGE_SIZE);
    let st = fs.fstatSync(fd);
    expect(st.size).toBe(16 * PAGE_SIZE);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(16 * PAGE_SIZE);
    const blocksBefore = st.blocks;
    const ab = track(mmapFd(fd, { length: 16 * PAGE_SIZE }));
    new Uint8Array(ab).fill(0xa5);
    fallocate(fd, 4 * PAGE_SIZE, 4 * PAGE_SIZE, { punchHole: true });
    st = fs.fstatSync(fd);
    expect(st.size).toBe(16 * PAGE_SIZE);
    expect(blocksBefore - st.blocks).toBe((4 * PAGE_SIZE) / 512);
    const u = new Uint8Array(ab);
    expect(u[4 * PAGE_SIZE - 1]).toBe(0xa5);
    expect(u.subarray(4 * PAGE_SIZE, 8 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(u[8 * PAGE_SIZE]).toBe(0xa5);
    // Reading the hole through a shared mapping faulted zeroed pages back in.
    expect(fs.fstatSync(fd).blocks).toBe(blocksBefore);
    // KEEP_SIZE past the end allocates without growing.
    fallocate(fd, 16 * PAGE_SIZE, PAGE_SIZE, C.FALLOC_FL_KEEP_SIZE);
    expect(fs.fstatSync(fd).size).toBe(16 * PAGE_SIZE);
    expect(fs.fstatSync(fd).blocks).toBe(blocksBefore + PAGE_SIZE / 512);
  });

  it('passes 64-bit sizes and offsets (> 4 GiB) untruncated', () => {
    const big = 5 * 2 ** 30;
    const fd = memfd(big); // sparse: costs nothing
    expect(fs.fstatSync(fd).size).toBe(big);
    const off = 2 ** 32 + PAGE_SIZE;
    const ab = track(mmapFd(fd, { offset: off, length: PAGE_SIZE }));
    new Uint8Array(ab).set([1, 2, 3, 4]);
    const back = Buffer.alloc(4);
    fs.readSync(fd, back, 0, 4, off);
    expect([...back]).toEqual([1, 2, 3, 4]);
    const low = Buffer.alloc(4);
    fs.readSync(fd, low, 0, 4, PAGE_SIZE); // what a 32-bit truncation would have hit
    expect([...low]).toEqual([0, 0, 0, 0]);
    const blocks = fs.fstatSync(fd).blocks;
    fallocate(fd, 2 ** 32 + 2 * PAGE_SIZE, PAGE_SIZE);
    expect(fs.fstatSync(fd).blocks).toBe(blocks + PAGE_SIZE / 512);
  });
});

describe('mmap / munmap', () => {
  it('two mappings of one memfd see each other’s writes', () => {
    const fd = memfd(4 * PAGE_SIZE);
    const a = track(mmapFd(fd, { length: 4 * PAGE_SIZE }));
    const b = track(mmapFd(fd, { length: 4 * PAGE_SIZE, prot: C.PROT_READ }));
    expect(mappingAddress(a)).not.toBe(mappingAddress(b));
    expect(a.byteLength).toBe(4 * PAGE_SIZE);
    new Uint8Array(a).set([9, 8, 7], 3 * PAGE_SIZE + 10);
    expect([...new Uint8Array(b, 3 * PAGE_SIZE + 10, 3)]).toEqual([9, 8, 7]);
    const c = track(mmapFd(fd, { offset: 3 * PAGE_SIZE, length: PAGE_SIZE }));
    expect(new Uint8Array(c)[10]).toBe(9); // offset honoured
  });

  it('munmap is synchronous: views go to length 0, the mapping is gone, a second munmap is harmless', () => {
    const fd = memfd(2 * PAGE_SIZE);
    const ab = mmapFd(fd, { length: 2 * PAGE_SIZE });
    const u = new Uint8Array(ab);
    const dv = new DataView(ab);
    u[0] = 42;
    const addr = mappingAddress(ab);
    expect(addr % BigInt(PAGE_SIZE)).toBe(0n);
    expect(mapped(addr)).toBe(true);
    munmap(ab);
    expect(mapped(addr)).toBe(false);
    expect(ab.byteLength).toBe(0);
    expect(u.length).toBe(0);
    u[0] = 1; // ignored, no crash
    expect(u[0]).toBeUndefined();
    expect(u[PAGE_SIZE]).toBeUndefined();
    expect(() => u.fill(7)).toThrow(TypeError); // V8: TypedArray methods refuse a detached buffer
    expect(() => dv.getUint8(0)).toThrow(TypeError);
    expect(mappingAddress(ab)).toBe(0n);
    expect(() => munmap(ab)).not.toThrow();
    expect(() => munmap(new ArrayBuffer(16))).not.toThrow(); // not a mapping: nothing to do
    const data = Buffer.alloc(1);
    fs.readSync(fd, data, 0, 1, 0);
    expect(data[0]).toBe(42); // the write went to the memfd before unmapping
  });

  it('munmap drops the writable mapping at once, so the write seal can be added', () => {
    const fd = memfd(PAGE_SIZE, { allowSealing: true });
    const ab = mmapFd(fd, { length: PAGE_SIZE });
    new Uint8Array(ab)[0] = 0x5a;
    expectSystemError(() => addSeals(fd, ['write']), { code: 'EBUSY', errno: -16, syscall: 'fcntl(F_ADD_SEALS)', fd });
    munmap(ab);
    addSeals(fd, ['write']);
    expectSystemError(() => mmapFd(fd, { length: PAGE_SIZE }), { code: 'EPERM', errno: -1, syscall: 'mmap', fd });
    const ro = track(mmapFd(fd, { length: PAGE_SIZE, prot: C.PROT_READ }));
    expect(new Uint8Array(ro)[0]).toBe(0x5a);
  });

  it('a mapping larger than an ArrayBuffer can hold is refused before mmap (it once aborted the process)', () => {
    // In a child: before the fix, Node's refusal ran our finalizer and the addon then freed the mapping again.
    const script = `
      const n = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const m = n.memfdCreate('big');
      n.ftruncate(m, n.MAX_MAPPING + 2 * 4096);
      let code;
      try { n.mmapFd(m, { length: n.MAX_MAPPING + 4096 }); } catch (e) { code = e.code; }
      const ok = n.mmapFd(m, { length: 4096 * 16 });
      n.munmap(ok);
      n.closeFd(m);
      console.log(code, n.MAX_MAPPING);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`ERR_OUT_OF_RANGE ${MAX_MAPPING}`);
  });

  it('mmap failures from the kernel are system errors and leak nothing', () => {
    const before = openFdCount();
    const fd = memfdCreate('closed');
    closeFd(fd);
    expectSystemError(() => mmapFd(fd, { length: PAGE_SIZE }), { code: 'EBADF', errno: -9, syscall: 'mmap', fd });
    const ro = track(openDevice('/dev/zero', C.O_RDONLY));
    expectSystemError(() => mmapFd(ro, { length: PAGE_SIZE }), { code: 'EACCES', errno: -13, syscall: 'mmap', fd: ro });
    closeFd(fds.pop()!);
    expect(openFdCount()).toBe(before);
  });

  it('a transfer list copies the mapping instead of moving it (Node marks it untransferable)', () => {
    const fd = memfd(PAGE_SIZE);
    const ab = track(mmapFd(fd, { length: PAGE_SIZE }));
    new Uint8Array(ab)[0] = 3;
    const copy = structuredClone(ab, { transfer: [ab] });
    new Uint8Array(copy)[0] = 4;
    expect(ab.byteLength).toBe(PAGE_SIZE);
    expect(new Uint8Array(ab)[0]).toBe(3);
    expect(mappingAddress(copy)).toBe(0n);
    expect(mappingAddress(ab)).not.toBe(0n);
  });

  it('a forgotten mapping is unmapped by its finalizer; one alive at exit is torn down cleanly', () => {
    const script = `
      const fs = require('fs');
      const dir = process.env.PKG_DIR;
      const b = require(require.resolve('node-gyp-build', { paths: [dir] }))(dir);
      const isMapped = (a) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => l.startsWith(a.toString(16) + '-'));
      const fd = b.memfdCreate('finalizer-test', 1);
      b.ftruncate(fd, 65536);
      let addr;
      (() => { const ab = b.mmap(fd, 0, 65536, 3); new Uint8Array(ab)[0] = 1; addr = b.mappingAddress(ab); })();
      const before = isMapped(addr);
      (async () => {
        let after = true, rounds = 0;
        while (after && rounds < 100) { globalThis.gc(); await new Promise((r) => setImmediate(r)); after = isMapped(addr); rounds++; }
        globalThis.kept = b.mmap(fd, 0, 4096, 3);
        new Uint8Array(globalThis.kept)[0] = 2;
        process.stdout.write(JSON.stringify({ before, after, rounds, addr: String(addr) }));
      })();`;
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
      env: { ...process.env, PKG_DIR },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = JSON.parse(out) as { before: boolean; after: boolean; addr: string };
    expect(BigInt(r.addr)).not.toBe(0n);
    expect(r.before).toBe(true);
    expect(r.after).toBe(false);
  });

  it('workers terminated in the middle of mmap, munmap and poll watchers, 20 times: the process lives, no mapping or fd is left', () => {
    // The addon as node-gyp-build loads it here, driven raw in each worker (children/terminate-mapping.mjs).
    const addon = (createRequire(import.meta.url)('node-gyp-build') as { path: (dir: string) => string }).path(PKG_DIR);
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('./children/terminate-mapping.mjs', import.meta.url)), addon, '20'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, `${r.stderr} (signal ${r.signal})`).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ rounds: 20, before: 0, after: 0, fdsLeft: 0 });
  });
});

describe('the raw addon checks JavaScript types, and only those', () => {
  // Called through `any`: these are the mistakes the types forbid.
  const raw = native as unknown as Record<string, (...args: unknown[]) => unknown>;

  it('a wrong type or a missing argument throws a TypeError naming it (ERR_INVALID_ARG_TYPE), before any system call', () => {
    const fd = memfd(PAGE_SIZE);
    const before = openFdCount();
    const cases: Array<[string, () => unknown, string]> = [
      ['close("3")', () => raw.close!('3'), '"fd" must be a number'],
      ['close()', () => raw.close!(), '"fd" must be a number'],
      ['dup(3n)', () => raw.dup!(3n), '"fd" must be a number'],
      ['open(42, 0, 0)', () => raw.open!(42, 0, 0), '"path" must be a string'],
      ['open("/dev/null", "r", 0)', () => raw.open!('/dev/null', 'r', 0), '"flags" must be a number'],
      ['heapAlloc(fd, 4096n, 2, 0)', () => raw.heapAlloc!(fd, 4096n, 2, 0), '"len" must be a number'],
      ['heapAlloc without heapFlags', () => raw.heapAlloc!(fd, 4096, 2), '"heapFlags" must be a number'],
      ['heapAllocAsync(fd, "4096", 2, 0): thrown, not a promise', () => raw.heapAllocAsync!(fd, '4096', 2, 0), '"len" must be a number'],
      ['bufSync(fd, null)', () => raw.bufSync!(fd, null), '"flags" must be a number'],
      ['bufSetName(fd, 42)', () => raw.bufSetName!(fd, 42), '"name" must be a string'],
      ['mmap(fd, 0, "4096", 3)', () => raw.mmap!(fd, 0, '4096', 3), '"length" must be a number'],
      ['munmap({})', () => raw.munmap!({}), '"mapping" must be an ArrayBuffer'],
      ['mappingAddress(Uint8Array)', () => raw.mappingAddress!(new Uint8Array(8)), '"mapping" must be an ArrayBuffer'],
      ['madvise(undefined, 0, 4096, 4)', () => raw.madvise!(undefined, 0, 4096, 4), '"mapping" must be an ArrayBuffer'],
      ['memfdCreate(Symbol(), 0)', () => raw.memfdCreate!(Symbol('x'), 0), '"name" must be a string'],
      ['fallocate(fd, 0, 0)', () => raw.fallocate!(fd, 0, 0), '"len" must be a number'],
      ['udmabufCreate(fd, "m", 0, 4096, 0)', () => raw.udmabufCreate!(fd, 'm', 0, 4096, 0), '"memfd" must be a number'],
      ['udmabufCreateList(fd, 0, [fd, 0, 4096])', () => raw.udmabufCreateList!(fd, 0, [fd, 0, 4096]), '"items" must be a Float64Array'],
      ['udmabufCreateList(fd, 0, items, "1")', () => raw.udmabufCreateList!(fd, 0, new Float64Array(3), '1'), '"count" must be a number'],
      ['sendFds(fd, "x", fds, 0)', () => raw.sendFds!(fd, 'x', new Int32Array(1), 0), '"data" must be a Uint8Array'],
      ['recvFds(fd, data, fds)', () => raw.recvFds!(fd, new Uint8Array(1), new Int32Array(1)), '"meta" must be an Int32Array'],
      ['socketPair(1, [0, 0])', () => raw.socketPair!(1, [0, 0]), '"out" must be an Int32Array'],
      ['bufImportSyncFile(fd, 1, "3")', () => raw.bufImportSyncFile!(fd, 1, '3'), '"syncFd" must be a number'],
      ['watch(fd, 1, null)', () => raw.watch!(fd, 1, null), '"callback" must be a function'],
      ['unwatch(42)', () => raw.unwatch!(42), '"handle" must be a handle from watch()'],
    ];
    const wrong: string[] = [];
    for (const [label, call, message] of cases) {
      const e = catchError(call);
      if (!(e instanceof TypeError) || e.message !== message || e.code !== 'ERR_INVALID_ARG_TYPE') {
        wrong.push(`${label}: expected TypeError "${message}", got ${e.name} ${String(e.code)}: ${e.message}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(openFdCount()).toBe(before);
    expect(fs.fstatSync(fd).size).toBe(PAGE_SIZE);
  });

  it("values of the right type reach the kernel unchecked: its EINVAL stays an errno, told apart from a wrong type", () => {
    const dev = track(openDevice('/dev/null'));
    expect(native.getSeals(dev)).toBe(-22); // the kernel's EINVAL: /dev/null cannot be sealed
    expect(catchError(() => raw.getSeals!(String(dev)))).toBeInstanceOf(TypeError);
    expect(native.close(-1)).toBe(-9); // a range TypeScript refuses, the kernel's EBADF here
    expect(native.udmabufCreateList(dev, 0, new Float64Array(3), 2)).toBe(-22); // beyond the array: never read
    expect(native.munmap(new ArrayBuffer(8))).toBe(0); // an ArrayBuffer that is no mapping: nothing to do
    expect(native.mappingAddress(new ArrayBuffer(8))).toBe(0n);
  });
});

describe('madvise and pagemap', () => {
  it('pagemap shows touched pages present with PFNs; untouched ones absent', () => {
    const fd = memfd(8 * PAGE_SIZE);
    const ab = track(mmapFd(fd, { length: 8 * PAGE_SIZE }));
    expect(pagemap(ab).every((p) => !p.present && p.pfn === 0n)).toBe(true);
    const u = new Uint8Array(ab);
    u[0] = 1;
    u[3 * PAGE_SIZE + 5] = 1;
    const pages = pagemap(ab);
    expect(pages).toHaveLength(8);
    expect(pages.map((p) => p.present)).toEqual([true, false, false, true, false, false, false, false]);
    if (isRoot) {
      expect(pages[0]!.pfn).toBeGreaterThan(0n);
      expect(pages[3]!.pfn).toBeGreaterThan(0n);
      expect(pages[0]!.pfn).not.toBe(pages[3]!.pfn);
    } else {
      expect(pages[0]!.pfn).toBe(0n);
    }
    expect(pagemap(ab, 3 * PAGE_SIZE + 100, 1)).toEqual([pages[3]]);
    expect(pagemap(ab, PAGE_SIZE - 1, 2)).toHaveLength(2); // straddles a page boundary
  });

  it('populate-write faults in, dontneed drops PTEs but keeps shared data, remove frees the pages', () => {
    const n = 16;
    const fd = memfd(n * PAGE_SIZE);
    const ab = track(mmapFd(fd, { length: n * PAGE_SIZE }));
    madvise(ab, 'populate-write');
    expect(pagemap(ab).every((p) => p.present)).toBe(true);
    expect(fs.fstatSync(fd).blocks * 512).toBe(n * PAGE_SIZE);
    new Uint8Array(ab).fill(0x77);
    madvise(ab, C.MADV_DONTNEED, 0, 4 * PAGE_SIZE);
    expect(pagemap(ab, 0, 4 * PAGE_SIZE).some((p) => p.present)).toBe(false);
    expect(pagemap(ab, 4 * PAGE_SIZE).every((p) => p.present)).toBe(true);
    expect(new Uint8Array(ab)[PAGE_SIZE]).toBe(0x77); // memfd still holds it
    madvise(ab, 'remove', 8 * PAGE_SIZE);
    expect(fs.fstatSync(fd).blocks * 512).toBe(8 * PAGE_SIZE);
    expect(new Uint8Array(ab)[8 * PAGE_SIZE]).toBe(0);
    madvise(ab, 'populate-read', 0, PAGE_SIZE);
    expect(pagemap(ab, 0, PAGE_SIZE)[0]!.present).toBe(true);
    madvise(ab, 'willneed');
    madvise(ab, 'nohugepage');
  });
});

describe('dma-buf and udmabuf calls reach the kernel', () => {
  it('on a non-dma-buf fd they fail with ENOTTY in the system-error shape', () => {
    const before = openFdCount();
    const fd = track(openDevice('/dev/null', C.O_RDWR));
    const m = memfd(PAGE_SIZE, { allowSealing: true });
    addSeals(m, ['shrink']);
    const shape = (syscall: string) => ({ code: 'ENOTTY', errno: -25, syscall, fd });
    expectSystemError(() => heapAlloc(fd, PAGE_SIZE), shape('ioctl(DMA_HEAP_IOCTL_ALLOC)'));
    expectSystemError(() => bufSync(fd, C.DMA_BUF_SYNC_RW), shape('ioctl(DMA_BUF_IOCTL_SYNC)'));
    expectSystemError(() => bufSyncStart(fd), shape('ioctl(DMA_BUF_IOCTL_SYNC)'));
    expectSystemError(() => bufSyncEnd(fd, 'read'), shape('ioctl(DMA_BUF_IOCTL_SYNC)'));
    expectSystemError(() => bufSetName(fd, 'frame-0'), shape('ioctl(DMA_BUF_SET_NAME_B)'));
    expectSystemError(() => udmabufCreate(fd, { memfd: m, size: PAGE_SIZE }), shape('ioctl(UDMABUF_CREATE)'));
    expectSystemError(() => udmabufCreateList(fd, [{ memfd: m, size: PAGE_SIZE }, { memfd: m, offset: 0, size: PAGE_SIZE }]), shape('ioctl(UDMABUF_CREATE_LIST)'));
    closeFd(fds.shift()!);
    closeFd(fds.shift()!);
    expect(openFdCount()).toBe(before);
    expectSystemError(() => heapAlloc(fd, PAGE_SIZE), { code: 'EBADF', errno: -9, syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)', fd });
  });

  it('heapAllocAsync reaches the kernel from the thread pool: ENOTTY in the same shape, the heap fd closable meanwhile', async () => {
    const before = openFdCount();
    const fd = track(openDevice('/dev/null', C.O_RDWR));
    const e = await heapAllocAsync(fd, PAGE_SIZE).then(
      () => undefined,
      (err: unknown) => err as Record<string, unknown> & Error,
    );
    expect(e).toMatchObject({ code: 'ENOTTY', errno: -25, syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)', fd });
    expect(isSystemError(e, 'ENOTTY')).toBe(true);
    // The raw call: a promise of -errno, never a rejection. The job works on a copy of the heap fd, so closing
    // the fd at once still reaches the same file (ENOTTY, not EBADF), whatever then gets its number.
    const pending = native.heapAllocAsync(fd, PAGE_SIZE, C.O_RDWR | C.O_CLOEXEC, 0);
    closeFd(fds.pop()!);
    const reuse = track(memfdCreate('reuse')); // most likely the number just freed
    expect(await pending).toBe(-25);
    expect(await native.heapAllocAsync(fd === reuse ? 2 ** 30 : fd, PAGE_SIZE, C.O_RDWR, 0)).toBe(-9); // no such fd
    closeFd(fds.pop()!);
    expect(openFdCount()).toBe(before);
  });

  it('heapAllocAsync rejects bad input with the errors heapAlloc throws, before any system call', async () => {
    const fd = memfd(PAGE_SIZE);
    const before = openFdCount();
    const inputs: Array<[number, number, object | undefined]> = [
      [-1, PAGE_SIZE, undefined], [1.5, PAGE_SIZE, undefined], ['3' as never, PAGE_SIZE, undefined],
      [fd, 0, undefined], [fd, 2 ** 53, undefined], [fd, '4096' as never, undefined],
      [fd, PAGE_SIZE, { fdFlags: 0o100 }], [fd, PAGE_SIZE, { heapFlags: 1 }], [fd, PAGE_SIZE, null as never], [fd, PAGE_SIZE, { cloexec: 1 }],
    ];
    for (const [heapFd, len, options] of inputs) {
      const sync = catchError(() => heapAlloc(heapFd, len, options));
      const async = await heapAllocAsync(heapFd, len, options).then(
        () => new Error('resolved'),
        (err: unknown) => err as Error,
      );
      expect(async.constructor, `${String(heapFd)}, ${String(len)}, ${JSON.stringify(options)}`).toBe(sync.constructor);
      expect(async).toMatchObject({ code: sync.code, message: sync.message });
    }
    expect(openFdCount()).toBe(before);
  });

  it('sync flags by name', () => {
    expect(dmaBufSyncFlags('start', 'read')).toBe(C.DMA_BUF_SYNC_START | C.DMA_BUF_SYNC_READ);
    expect(dmaBufSyncFlags('end', 'readwrite')).toBe(C.DMA_BUF_SYNC_END | C.DMA_BUF_SYNC_RW);
    expect(dmaBufSyncFlags('end', 'write')).toBe(6);
  });

  it('listDmaHeaps and readUdmabufLimits read what is there, and nothing when absent', () => {
    if (!fs.existsSync('/dev/dma_heap')) expect(listDmaHeaps()).toEqual([]);
    expect(listDmaHeaps('/nonexistent/dma_heap')).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmaheap-'));
    try {
      for (const n of ['system', 'linux,cma', 'default_cma_region']) fs.writeFileSync(path.join(dir, n), '');
      expect(listDmaHeaps(dir)).toEqual(['default_cma_region', 'linux,cma', 'system']);
      fs.writeFileSync(path.join(dir, 'list_limit'), '1024\n');
      fs.writeFileSync(path.join(dir, 'size_limit_mb'), '64\n');
      expect(readUdmabufLimits(dir)).toEqual({ listLimit: 1024, sizeLimitMb: 64 });
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
    expect(readUdmabufLimits('/nonexistent/udmabuf')).toEqual({ listLimit: undefined, sizeLimitMb: undefined });
    if (!fs.existsSync('/sys/module/udmabuf')) expect(readUdmabufLimits()).toEqual({ listLimit: undefined, sizeLimitMb: undefined });
  });

  it('readFdInfo parses the generic fields', () => {
    const fd = memfd(PAGE_SIZE);
    const info = readFdInfo(fd);
    expect(info.pos).toBe(0);
    expect(info.mntId).toBe(Number(info.raw['mnt_id'])); // 0 for memfds on recent kernels
    const dev = track(openDevice('/dev/null'));
    expect(readFdInfo(dev).mntId).toBeGreaterThan(0);
    expect(info.ino).toBe(fs.fstatSync(fd).ino);
    expect(info.raw['flags']).toMatch(/^0[0-7]+$/);
    expect(info.size).toBeUndefined(); // dma-buf only
    expect(info.expName).toBeUndefined();
  });
});

describe('bad input', () => {
  const T = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' };
  const R = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

  it('every function rejects bad arguments with the right typed error, leaking no fd', () => {
    const fd = memfd(4 * PAGE_SIZE, { allowSealing: true });
    const ab = track(mmapFd(fd, { length: 2 * PAGE_SIZE }));
    const gone = mmapFd(fd, { length: PAGE_SIZE });
    munmap(gone);
    const before = openFdCount();
    const ourMaps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('/memfd:dmaheap-test')).length;
    const mapBefore = ourMaps();
    const badFds: [unknown, typeof T][] = [[-1, R], [1.5, R], [NaN, R], [Infinity, R], [2 ** 31, R], ['3', T], [3n, T], [undefined, T], [null, T]];
    const badSizes: [unknown, typeof T][] = [[0, R], [-1, R], [0.5, R], [NaN, R], [-Infinity, R], [2 ** 53, R], ['4096', T], [4096n, T]];
    const cases: [string, () => unknown, typeof T][] = [];
    const add = (label: string, fn: () => unknown, kind: typeof T) => cases.push([label, fn, kind]);
    for (const [v, k] of badFds) {
      add(`closeFd(${String(v)})`, () => closeFd(v as number), k);
      add(`dupFd(${String(v)})`, () => dupFd(v as number), k);
      add(`heapAlloc fd ${String(v)}`, () => heapAlloc(v as number, PAGE_SIZE), k);
      add(`bufSync fd ${String(v)}`, () => bufSync(v as number, 1), k);
      add(`bufSetName fd ${String(v)}`, () => bufSetName(v as number, 'x'), k);
      add(`mmapFd fd ${String(v)}`, () => mmapFd(v as number, { length: PAGE_SIZE }), k);
      add(`ftruncate fd ${String(v)}`, () => ftruncate(v as number, 0), k);
      add(`fallocate fd ${String(v)}`, () => fallocate(v as number, 0, 1), k);
      add(`addSeals fd ${String(v)}`, () => addSeals(v as number, ['shrink']), k);
      add(`getSeals fd ${String(v)}`, () => getSeals(v as number), k);
      add(`udmabufCreate devFd ${String(v)}`, () => udmabufCreate(v as number, { memfd: fd, size: PAGE_SIZE }), k);
      add(`udmabufCreate memfd ${String(v)}`, () => udmabufCreate(fd, { memfd: v as number, size: PAGE_SIZE }), k);
      add(`udmabufCreateList devFd ${String(v)}`, () => udmabufCreateList(v as number, [{ memfd: fd, size: PAGE_SIZE }]), k);
      add(`udmabufCreateList memfd ${String(v)}`, () => udmabufCreateList(fd, [{ memfd: v as number, size: PAGE_SIZE }]), k);
      add(`readFdInfo(${String(v)})`, () => readFdInfo(v as number), k);
    }
    for (const [v, k] of badSizes) {
      add(`heapAlloc len ${String(v)}`, () => heapAlloc(fd, v as number), k);
      add(`mmapFd length ${String(v)}`, () => mmapFd(fd, { length: v as number }), k);
      add(`fallocate length ${String(v)}`, () => fallocate(fd, 0, v as number), k);
      add(`udmabufCreate size ${String(v)}`, () => udmabufCreate(fd, { memfd: fd, size: v as number }), k);
      add(`madvise length ${String(v)}`, () => madvise(ab, 'willneed', 0, v as number), k);
      add(`pagemap length ${String(v)}`, () => pagemap(ab, 0, v as number), k);
    }
    const more: [string, () => unknown, typeof T][] = [
      ['openDevice non-string', () => openDevice(42 as unknown as string), T],
      ['openDevice NUL', () => openDevice('/dev/null\0x'), T],
      ['openDevice O_CREAT', () => openDevice('/tmp/x', 0o100), T],
      ['openDevice O_TRUNC', () => openDevice('/dev/null', 0o1000), T],
      ['openDevice flags -1', () => openDevice('/dev/null', -1), R],
      ['openDevice flags 1.5', () => openDevice('/dev/null', 1.5), R],
      ['openDevice cloexec string', () => openDevice('/dev/null', 0, { cloexec: 'yes' as unknown as boolean }), T],
      ['openDevice options array', () => openDevice('/dev/null', 0, [] as unknown as object), T],
      ['heapAlloc fdFlags O_CREAT', () => heapAlloc(fd, PAGE_SIZE, { fdFlags: 0o100 }), T],
      ['heapAlloc fdFlags O_NONBLOCK', () => heapAlloc(fd, PAGE_SIZE, { fdFlags: 0o4000 | C.O_RDWR }), T],
      ['heapAlloc heapFlags 1', () => heapAlloc(fd, PAGE_SIZE, { heapFlags: 1 }), T],
      ['heapAlloc heapFlags 2**40', () => heapAlloc(fd, PAGE_SIZE, { heapFlags: 2 ** 40 }), T],
      ['heapAlloc heapFlags -1', () => heapAlloc(fd, PAGE_SIZE, { heapFlags: -1 }), R],
      ['heapAlloc options null', () => heapAlloc(fd, PAGE_SIZE, null as unknown as object), T],
      ['bufSync unknown bit', () => bufSync(fd, 8 | 1), T],
      ['bufSync no direction', () => bufSync(fd, C.DMA_BUF_SYNC_END), T],
      ['bufSync zero', () => bufSync(fd, 0), T],
      ['bufSync string', () => bufSync(fd, 'read' as unknown as number), T],
      ['bufSyncStart bogus', () => bufSyncStart(fd, 'rw' as 'read'), T],
      ['dmaBufSyncFlags bogus phase', () => dmaBufSyncFlags('begin' as 'start', 'read'), T],
      ['bufSetName 32 bytes', () => bufSetName(fd, 'x'.repeat(32)), T],
      ['bufSetName 32 UTF-8 bytes in 16 chars', () => bufSetName(fd, 'é'.repeat(16)), T],
      ['bufSetName NUL', () => bufSetName(fd, 'a\0b'), T],
      ['bufSetName number', () => bufSetName(fd, 42 as unknown as string), T],
      ['mmapFd no options', () => mmapFd(fd, undefined as unknown as { length: number }), T],
      ['mmapFd misaligned offset', () => mmapFd(fd, { offset: 1, length: PAGE_SIZE }), R],
      ['mmapFd negative offset', () => mmapFd(fd, { offset: -PAGE_SIZE, length: PAGE_SIZE }), R],
      ['mmapFd offset + length > MAX_SAFE', () => mmapFd(fd, { offset: 2 ** 52, length: 2 ** 52 }), R],
      ['mmapFd past EOF', () => mmapFd(fd, { length: 5 * PAGE_SIZE }), R],
      ['mmapFd offset past EOF', () => mmapFd(fd, { offset: 4 * PAGE_SIZE, length: 1 }), R],
      ['mmapFd PROT_NONE', () => mmapFd(fd, { length: PAGE_SIZE, prot: 0 }), T],
      ['mmapFd write-only', () => mmapFd(fd, { length: PAGE_SIZE, prot: C.PROT_WRITE }), T],
      ['mmapFd PROT_EXEC', () => mmapFd(fd, { length: PAGE_SIZE, prot: 4 | C.PROT_READ }), T],
      ['munmap Uint8Array', () => munmap(new Uint8Array(4) as unknown as ArrayBuffer), T],
      ['munmap null', () => munmap(null as unknown as ArrayBuffer), T],
      ['mappingAddress object', () => mappingAddress({} as ArrayBuffer), T],
      ['madvise unknown name', () => madvise(ab, 'free' as 'remove'), T],
      ['madvise unknown number', () => madvise(ab, 8), T],
      ['madvise misaligned offset', () => madvise(ab, 'dontneed', 1), R],
      ['madvise past end', () => madvise(ab, 'dontneed', 0, 2 * PAGE_SIZE + 1), R],
      ['madvise offset past end', () => madvise(ab, 'dontneed', 2 * PAGE_SIZE), R],
      ['madvise unmapped', () => madvise(gone, 'dontneed'), T],
      ['madvise plain ArrayBuffer', () => madvise(new ArrayBuffer(PAGE_SIZE), 'dontneed'), T],
      ['pagemap unmapped', () => pagemap(gone), T],
      ['pagemap negative offset', () => pagemap(ab, -1), R],
      ['pagemap offset past end', () => pagemap(ab, 2 * PAGE_SIZE), R],
      ['memfdCreate number', () => memfdCreate(1 as unknown as string), T],
      ['memfdCreate NUL', () => memfdCreate('a\0'), T],
      ['memfdCreate 250 bytes', () => memfdCreate('x'.repeat(250)), T],
      ['memfdCreate hugePageSize without hugetlb', () => memfdCreate('h', { hugePageSize: 2 ** 21 }), T],
      ['memfdCreate hugePageSize 3 MiB', () => memfdCreate('h', { hugetlb: true, hugePageSize: 3 * 2 ** 20 }), R],
      ['memfdCreate hugePageSize 4 KiB', () => memfdCreate('h', { hugetlb: true, hugePageSize: 4096 }), R],
      ['memfdCreate allowSealing 1', () => memfdCreate('h', { allowSealing: 1 as unknown as boolean }), T],
      ['ftruncate -1', () => ftruncate(fd, -1), R],
      ['ftruncate 1.5', () => ftruncate(fd, 1.5), R],
      ['ftruncate 2**53', () => ftruncate(fd, 2 ** 53), R],
      ['fallocate offset -1', () => fallocate(fd, -1, 1), R],
      ['fallocate offset + length > MAX_SAFE', () => fallocate(fd, 2 ** 52, 2 ** 52), R],
      ['fallocate unknown mode bit', () => fallocate(fd, 0, 1, 0x10), T],
      ['fallocate punch without keep', () => fallocate(fd, 0, 1, C.FALLOC_FL_PUNCH_HOLE), T],
      ['fallocate mode string', () => fallocate(fd, 0, 1, 'punch' as unknown as number), T],
      ['addSeals unknown name', () => addSeals(fd, ['shrinks' as 'shrink']), T],
      ['addSeals single string', () => addSeals(fd, 'shrink' as unknown as ['shrink']), T],
      ['addSeals unknown bit', () => addSeals(fd, 0x20), T],
      ['addSeals negative', () => addSeals(fd, -2), R],
      ['udmabufCreate misaligned size', () => udmabufCreate(fd, { memfd: fd, size: 100 }), R],
      ['udmabufCreate misaligned offset', () => udmabufCreate(fd, { memfd: fd, offset: 1, size: PAGE_SIZE }), R],
      ['udmabufCreate no options', () => udmabufCreate(fd, undefined as unknown as { memfd: number; size: number }), T],
      ['udmabufCreateList empty', () => udmabufCreateList(fd, []), T],
      ['udmabufCreateList not array', () => udmabufCreateList(fd, 'x' as unknown as []), T],
      ['udmabufCreateList null item', () => udmabufCreateList(fd, [null as unknown as { memfd: number; size: number }]), T],
      ['udmabufCreateList misaligned item', () => udmabufCreateList(fd, [{ memfd: fd, size: PAGE_SIZE }, { memfd: fd, size: 4095 }]), R],
      ['udmabufCreateList cloexec number', () => udmabufCreateList(fd, [{ memfd: fd, size: PAGE_SIZE }], { cloexec: 0 as unknown as boolean }), T],
      ['listDmaHeaps number', () => listDmaHeaps(42 as unknown as string), T],
      ['readUdmabufLimits NUL', () => readUdmabufLimits('/sys\0'), T],
    ];
    cases.push(...more);
    expect(cases.length).toBeGreaterThan(200);
    const wrong: string[] = [];
    for (const [label, fn, kind] of cases) {
      let e: unknown;
      try {
        fn();
      } catch (err) {
        e = err;
      }
      const ok = e instanceof Error && e.name === kind.name && (e as { code?: unknown }).code === kind.code;
      if (!ok) wrong.push(`${label}: expected ${kind.name}/${kind.code}, got ${e instanceof Error ? `${e.name}/${String((e as { code?: unknown }).code)}: ${e.message}` : String(e)}`);
    }
    expect(wrong).toEqual([]);
    expect(openFdCount()).toBe(before);
    expect(ourMaps()).toBe(mapBefore);
    // The file and the mapping are untouched by all that.
    expect(fs.fstatSync(fd).size).toBe(4 * PAGE_SIZE);
    expect(getSeals(fd)).toBe(0);
    expect(ab.byteLength).toBe(2 * PAGE_SIZE);
  });

  const HUGE_2M = fs.existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
  it.skipIf(!HUGE_2M)(`memfdCreate with hugetlb encodes the page size the kernel accepts${HUGE_2M ? '' : ' (skipped: this kernel has no 2 MiB huge pages)'}`, () => {
    const fd = track(memfdCreate('huge', { hugetlb: true, hugePageSize: 2 ** 21, allowSealing: true }));
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:huge (deleted)');
    expect(fs.fstatSync(fd).blksize).toBe(2 ** 21); // hugetlbfs reports the huge page size
  });
});

describe('the public API', () => {
  it('has no generic ioctl and no test rigs: a generic ioctl cannot be memory-safe (structs may carry pointers)', async () => {
    const api = await import('./index.js');
    for (const name of ['ioctl', 'v4l2Open', 'v4l2CaptureDmabuf', 'drmPrimeFdToHandle', 'VIDIOC_QBUF']) expect(Object.keys(api)).not.toContain(name);
  });
});
