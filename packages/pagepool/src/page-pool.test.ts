// PagePool bookkeeping with plain numbers as pages (the pool is generic over what a page is).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PagePool } from './page-pool.js';

const pools: PagePool<number>[] = [];
afterEach(() => pools.splice(0).forEach((p) => p.close()));

function pool(opts: Partial<ConstructorParameters<typeof PagePool<number>>[0]> = {}) {
  const released: Array<[number, number]> = [];
  const p = new PagePool<number>({ orders: [8, 4, 0], pressure: false, release: (pg, o) => released.push([pg, o]), ...opts });
  pools.push(p);
  return { p, released };
}

describe('PagePool', () => {
  it('keeps free lists per order and counts hits and misses', () => {
    const { p } = pool();
    expect(p.get(8)).toBeUndefined();
    p.put(1, 8);
    p.put(2, 0);
    expect(p.stats()).toMatchObject({ bytes: 1024 * 1024 + 4096, pagesPerOrder: { 8: 1, 4: 0, 0: 1 } });
    expect(p.get(8)).toBe(1);
    expect(p.get(8)).toBeUndefined();
    expect(p.stats()).toMatchObject({ hits: 1, misses: 2, bytes: 4096 });
    expect(() => p.get(3)).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_INVALID_ARGUMENT' }));
  });

  it('releases what would go over the cap or an order high watermark', () => {
    const { p, released } = pool({ maxBytes: 3 * 65536, highWatermark: 2 * 65536 });
    expect(p.put(1, 4)).toBe(true);
    expect(p.put(2, 4)).toBe(true);
    expect(p.put(3, 4)).toBe(false); // order 4 is at its high watermark
    expect(p.put(4, 8)).toBe(false); // 1 MiB is over the total cap
    expect(released).toEqual([
      [3, 4],
      [4, 8],
    ]);
    expect(p.stats().overflows).toBe(2);
  });

  it('trim gives back small orders first, down to the target', () => {
    const { p, released } = pool();
    p.put(1, 8);
    p.put(2, 4);
    p.put(3, 0);
    expect(p.trim(1024 * 1024)).toBe(65536 + 4096);
    expect(released.map(([pg]) => pg)).toEqual([3, 2]);
    expect(p.trim()).toBe(1024 * 1024);
    expect(p.stats()).toMatchObject({ bytes: 0, trimmedBytes: 1024 * 1024 + 65536 + 4096 });
  });

  it('refills in the background up to the low watermark', async () => {
    let next = 100;
    const { p } = pool({ orders: [4, 0], lowWatermark: 2 * 65536, refill: () => next++ });
    for (let i = 0; i < 50 && p.stats().pagesPerOrder[0] !== 32; i++) await new Promise((r) => setImmediate(r));
    expect(p.stats().pagesPerOrder).toEqual({ 4: 2, 0: 32 });
    expect(p.get(4)).toBeGreaterThanOrEqual(100);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(p.stats().pagesPerOrder[4]).toBe(2);
  });

  it('shrinks when the PSI stall grows past the threshold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psi-'));
    const file = join(dir, 'memory');
    const psi = (total: number) =>
      writeFileSync(file, `some avg10=0.00 avg60=0.00 avg300=0.00 total=${total}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`);
    psi(1000);
    const { p } = pool({ pressure: { file, intervalMs: 20, stallUs: 10_000 } });
    p.put(1, 8);
    await new Promise((r) => setTimeout(r, 60));
    expect(p.stats().bytes).toBe(1024 * 1024); // no new stall: nothing trimmed
    psi(1000 + 20_000);
    for (let i = 0; i < 20 && p.stats().bytes > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(p.stats()).toMatchObject({ bytes: 0, pressureEvents: 1 });
  });

  it('refuses bad options with typed errors', () => {
    const release = () => {};
    for (const bad of [{ orders: [] }, { orders: [21] }, { orders: [0], maxBytes: -1 }, { orders: [0], lowWatermark: 0.5 }, { orders: [0], colour: 1 }]) {
      expect(() => new PagePool({ release, pressure: false, ...bad } as never)).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_INVALID_ARGUMENT' }));
    }
    expect(() => new PagePool({ orders: [0] } as never)).toThrow(/release/);
  });

  it('close releases everything and later puts are released at once', () => {
    const { p, released } = pool();
    p.put(1, 0);
    p.close();
    expect(p.put(2, 0)).toBe(false);
    expect(released).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });
});
