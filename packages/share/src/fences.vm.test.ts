// Waiting without blocking, on the real kernel (the VM): vgem puts fences on a dma-buf as a device would; the
// waits stay pending while the event loop keeps running, and resolve when the fence signals. Sync files
// exported from a buffer and imported into another carry the fence with them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeFd,
  constants,
  exportSyncFile,
  ftruncate,
  importSyncFile,
  kernelHeap,
  memfdCreate,
  openDevice,
  openFdCount,
  waitIdle,
  waitSyncFile,
} from '@dmaheap/native';
import { drmCardForDriver, drmGemClose, drmPrimeFdToHandle, vgemFenceAttach, vgemFenceSignal } from '@dmaheap/vm/guest';

let card: number;
beforeAll(() => {
  const path = drmCardForDriver('vgem');
  if (!path) throw new Error('no vgem card: the test bed loads vgem (VM_TEST_SETUP)');
  card = openDevice(path, constants.O_RDWR);
});
afterAll(() => closeFd(card));

/** A promise's state, without waiting for it. */
function watch<T>(p: Promise<T>): { settled: () => boolean; value: Promise<T> } {
  let settled = false;
  const value = p.finally(() => (settled = true));
  value.catch(() => {});
  return { settled: () => settled, value };
}

/** Lets the event loop run `ms`, counting its turns: proof that nothing blocked it. */
async function spin(ms: number): Promise<number> {
  let turns = 0;
  const t = setInterval(() => turns++, 5);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(t);
  return turns;
}

describe('fences: waitIdle, sync files', () => {
  it("a device's write fence: waitIdle 'read' and 'write' and the exported sync file stay pending while the loop runs, then resolve", async () => {
    const start = openFdCount();
    const heap = kernelHeap('system');
    const buf = heap.allocate(64 * 1024);
    const handle = drmPrimeFdToHandle(card, buf.fd);
    try {
      const fence = vgemFenceAttach(card, handle, { write: true });
      const read = watch(waitIdle(buf, 'read'));
      const write = watch(waitIdle(buf, 'write'));
      const sync = exportSyncFile(buf.fd, 'read');
      const signalled = watch(waitSyncFile(sync));
      const turns = await spin(300);
      expect(turns, 'the event loop ran while the waits were pending').toBeGreaterThan(20);
      expect([read.settled(), write.settled(), signalled.settled()]).toEqual([false, false, false]);
      const t0 = Date.now();
      vgemFenceSignal(card, fence);
      await Promise.all([read.value, write.value, signalled.value]);
      console.log(`[fences] pending through ${turns} turns of the event loop; resolved ${Date.now() - t0} ms after the signal`);
      closeFd(sync);
    } finally {
      drmGemClose(card, handle);
      buf.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it("a device's read fence holds back writers only", async () => {
    const heap = kernelHeap('system');
    const buf = heap.allocate(4096);
    const handle = drmPrimeFdToHandle(card, buf.fd);
    try {
      const fence = vgemFenceAttach(card, handle, { write: false });
      await waitIdle(buf, 'read', { timeoutMs: 5000 }); // at once: nobody writes
      const write = watch(waitIdle(buf, 'write'));
      await spin(200);
      expect(write.settled()).toBe(false);
      vgemFenceSignal(card, fence);
      await write.value;
    } finally {
      drmGemClose(card, handle);
      buf.close();
      heap.close();
    }
  });

  it('a sync file moves a fence from one buffer to another (export, import as a write)', async () => {
    const start = openFdCount();
    const heap = kernelHeap('system');
    const a = heap.allocate(4096);
    const b = heap.allocate(4096);
    const handle = drmPrimeFdToHandle(card, a.fd);
    try {
      const fence = vgemFenceAttach(card, handle, { write: true });
      const sync = exportSyncFile(a.fd, 'write');
      importSyncFile(b.fd, sync, 'write');
      closeFd(sync);
      const bRead = watch(waitIdle(b, 'read'));
      await spin(200);
      expect(bRead.settled(), 'b waits for the fence imported from a').toBe(false);
      vgemFenceSignal(card, fence);
      await bRead.value;
    } finally {
      drmGemClose(card, handle);
      a.close();
      b.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('times out with TimeoutError, aborts with the signal, and leaves no fd behind', async () => {
    const start = openFdCount();
    const heap = kernelHeap('system');
    const buf = heap.allocate(4096);
    const handle = drmPrimeFdToHandle(card, buf.fd);
    try {
      const fence = vgemFenceAttach(card, handle, { write: true });
      await expect(waitIdle(buf, 'read', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_DMAHEAP_TIMEOUT' });
      const controller = new AbortController();
      const aborted = waitIdle(buf, 'write', { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
      vgemFenceSignal(card, fence);
    } finally {
      drmGemClose(card, handle);
      buf.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('sync files of something that is not a dma-buf: NotSupportedError', () => {
    const fd = memfdCreate('not-a-dma-buf');
    ftruncate(fd, 4096);
    try {
      expect(() => exportSyncFile(fd, 'read')).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_NOT_SUPPORTED' }));
    } finally {
      closeFd(fd);
    }
  });
});
