// DeferredFrees bookkeeping with plain values: entries wait while "held", are freed once not.
import { describe, expect, it } from 'vitest';
import { DeferredFrees } from './deferred.js';

describe('DeferredFrees', () => {
  it('frees an entry only once nobody holds it, on collect() and on its timer', async () => {
    const held = new Set(['a', 'b']);
    const freed: string[] = [];
    const d = new DeferredFrees<string>((e) => held.has(e), (e) => freed.push(e), 10);
    d.add('a');
    d.add('b');
    expect(d.collect()).toBe(2);
    expect(freed).toEqual([]);
    held.delete('a');
    expect(d.collect()).toBe(1);
    expect(freed).toEqual(['a']);
    held.delete('b');
    for (let i = 0; i < 50 && d.pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(d.pending).toBe(0);
    expect(freed).toEqual(['a', 'b']);
  });

  it('close() stops checking and hands back what still waits', () => {
    const freed: number[] = [];
    const d = new DeferredFrees<number>(() => true, (e) => freed.push(e), 10);
    d.add(1);
    d.add(2);
    expect(d.close()).toEqual([1, 2]);
    expect(d.pending).toBe(0);
    expect(freed).toEqual([]);
  });
});
