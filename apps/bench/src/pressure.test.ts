import { describe, expect, it } from 'vitest';
import { countersSince, inTestBed, parseKeyedCounts, poolCounters } from './pressure.js';

describe('what the pools gave back', () => {
  it('reads a bufferPool over a systemHeap: its own counters and its inner page pool', () => {
    const stats = {
      pooledBytes: 0,
      trimmedBytes: 8 << 20,
      pressureEvents: 2,
      inner: { pool: { bytes: 0, trimmedBytes: 1 << 20, pressureEvents: 3 }, zeroedBytes: 0 },
    };
    expect(poolCounters(stats)).toEqual([
      { level: 'buffer pool', pressureEvents: 2, trimmedBytes: 8 << 20 },
      { level: 'inner page pool', pressureEvents: 3, trimmedBytes: 1 << 20 },
    ]);
  });

  it('reads a systemHeap page pool, and nothing of a heap without a pool', () => {
    expect(poolCounters({ pool: { trimmedBytes: 4096, pressureEvents: 1 }, hits: 3 })).toEqual([{ level: 'page pool', pressureEvents: 1, trimmedBytes: 4096 }]);
    expect(poolCounters({ pool: null, hits: 0 })).toEqual([]); // systemHeap({ pool: false })
    expect(poolCounters({})).toEqual([]); // kernelHeap
    expect(poolCounters({ inner: {} })).toEqual([]); // bufferPool stats always carry its own counters; inner alone: none
  });

  it('counts from the opening of the heap', () => {
    const before = [{ level: 'buffer pool', pressureEvents: 1, trimmedBytes: 100 }];
    const after = [
      { level: 'buffer pool', pressureEvents: 4, trimmedBytes: 400 },
      { level: 'inner page pool', pressureEvents: 2, trimmedBytes: 50 },
    ];
    expect(countersSince(before, after)).toEqual([
      { level: 'buffer pool', pressureEvents: 3, trimmedBytes: 300 },
      { level: 'inner page pool', pressureEvents: 2, trimmedBytes: 50 },
    ]);
  });
});

describe('the cgroup files', () => {
  it('parse memory.events', () => {
    expect(parseKeyedCounts('low 0\nhigh 0\nmax 1234\noom 0\noom_kill 0\noom_group_kill 0\n')).toEqual({ low: 0, high: 0, max: 1234, oom: 0, oom_kill: 0, oom_group_kill: 0 });
    expect(parseKeyedCounts('')).toEqual({});
  });

  it('knows the VM test bed by what tools/vm sets in every job', () => {
    expect(inTestBed({ DMAHEAP_IN_VM: '1', CI: '1' })).toBe(true);
    expect(inTestBed({ CI: '1' })).toBe(false);
  });
});
