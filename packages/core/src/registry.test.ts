// Registry logic over FAKE heaps (pure TypeScript): preference lists, aliases, fallback on out-of-memory.
import { afterEach, describe, expect, it } from 'vitest';
import { HeapNotFoundError } from './errors.js';
import { FakeHeap } from './fake.test-helpers.js';
import { aliasNames, explainHeap, listHeaps, openHeap, registerAlias, registerHeap, type HeapProvider } from './registry.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function fakeProvider(id: string, names: Record<string, true | string>, priority = 0, budget = Infinity): HeapProvider {
  const p: HeapProvider = {
    id,
    priority,
    names: () => Object.keys(names),
    probe: (n) => names[n] ?? 'unknown',
    open: (n) => new FakeHeap(n, budget),
  };
  cleanups.push(registerHeap(p));
  return p;
}

describe('registry', () => {
  it('lists what providers serve, with reasons for what cannot open', () => {
    fakeProvider('fake-a', { alpha: true, beta: 'no /dev/beta' });
    expect(listHeaps()).toEqual([
      { name: 'alpha', provider: 'fake-a', priority: 0, available: true },
      { name: 'beta', provider: 'fake-a', priority: 0, available: false, reason: 'no /dev/beta' },
    ]);
  });

  it('ignores a second provider with an id already registered (two copies of one package)', () => {
    fakeProvider('fake-dup', { gamma: true }, 0, 1);
    fakeProvider('fake-dup', { gamma: true }, 0, 2);
    expect(listHeaps().filter((h) => h.name === 'gamma')).toHaveLength(1);
    expect((openHeap('gamma') as FakeHeap).budget).toBe(1);
  });

  it('prefers the higher-priority provider of a name', () => {
    fakeProvider('fake-low', { system: true }, 0, 1);
    fakeProvider('fake-high', { system: true }, 10, 2);
    const heap = openHeap('system') as FakeHeap;
    expect(heap.budget).toBe(2);
  });

  it('an unknown name throws HeapNotFoundError listing what is available', () => {
    fakeProvider('fake-a', { alpha: true, beta: 'missing' });
    let err: unknown;
    try {
      openHeap('gamma');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeapNotFoundError);
    expect((err as HeapNotFoundError).available).toEqual(['alpha']);
    expect((err as Error).message).toMatch(/available: alpha/);
  });

  it('resolves the cma alias to whichever CMA name the kernel uses', () => {
    fakeProvider('fake-kernel', { reserved: true, system: true });
    expect(openHeap('cma').name).toBe('reserved');
  });

  it('a preference list skips missing heaps and falls back when one runs out of memory', () => {
    fakeProvider('fake-a', { small: true, missing: 'not here', big: true });
    const heap = openHeap(['missing', 'small', 'big']);
    expect(heap.name).toBe('small|big');
    const a = heap.allocate(4096);
    expect(a.heap.name).toBe('small');
    // FakeHeap budgets are Infinity by default; make `small` run out.
    (a.heap as FakeHeap).budget = 0;
    const b = heap.allocate(4096);
    expect(b.heap.name).toBe('big');
    expect(heap.stats()).toMatchObject({ liveBuffers: 2, allocations: 2 });
    a.close();
    b.close();
  });

  it('rejects empty or non-string names', () => {
    expect(() => openHeap([])).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_INVALID_ARGUMENT' }));
    expect(() => openHeap('')).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_INVALID_ARGUMENT' }));
  });

  it('explainHeap says what openHeap tries, in its order: aliases expanded, providers by priority, reasons', () => {
    fakeProvider('fake-low', { sys: true, cam: 'no /dev/dma_heap/cam' }, 0);
    fakeProvider('fake-high', { sys: 'no permission to open /dev/udmabuf' }, 10);
    registerAlias('frames', () => ['cam', 'sys']);
    cleanups.push(() => registerAlias('frames', ['frames']));
    expect(aliasNames('frames')).toEqual(['cam', 'sys']);
    expect(explainHeap(['frames', 'nothing'])).toEqual([
      { asked: 'frames', name: 'cam', provider: 'fake-low', priority: 0, available: false, reason: 'no /dev/dma_heap/cam' },
      { asked: 'frames', name: 'sys', provider: 'fake-high', priority: 10, available: false, reason: 'no permission to open /dev/udmabuf' },
      { asked: 'frames', name: 'sys', provider: 'fake-low', priority: 0, available: true },
    ]);
    expect((openHeap('frames') as FakeHeap).name).toBe('sys');
  });

  it('the cma alias stands for the default CMA heap names where this machine has no CMA heap', () => {
    expect(aliasNames('cma')).toEqual(['default_cma_region', 'linux,cma', 'reserved']);
  });
});
