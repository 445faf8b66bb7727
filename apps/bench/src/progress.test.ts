import { describe, expect, it } from 'vitest';
import { barWanted, formatDuration, parseProgressLine, Progress, progressLine, progressMode, renderBar } from './progress.js';

const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `seed|kernel|${i}`, estimateMs: 0 }));

describe('the progress bar', () => {
  it('shows only on a terminal someone watches', () => {
    expect(barWanted({ isTTY: true }, {})).toBe(true);
    expect(barWanted({ isTTY: false }, {})).toBe(false);
    expect(barWanted({}, {})).toBe(false);
    expect(barWanted({ isTTY: true }, { CI: '1' })).toBe(false);
    expect(barWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false); // the VM's serial console
  });

  it('becomes lines on stdout inside the VM when the host asks, whatever the terminal', () => {
    expect(progressMode({ isTTY: false }, { DMAHEAP_PROGRESS: 'lines', CI: '1', TERM: 'dumb' })).toBe('lines');
    expect(progressMode({ isTTY: true }, {})).toBe('bar');
    expect(progressMode({ isTTY: false }, {})).toBe('off');
  });

  it('draws done/total, the time left and the current step, cut to the width', () => {
    const p = new Progress([...tasks(2), { key: 'seed|skipsync|1M', estimateMs: 100_000 }, { key: 'mix|kernel|1', estimateMs: 25_000 }], 'off');
    p.step('seed kernel 4 KiB');
    expect(renderBar(p.event())).toBe('[........................] 0/4 ~2 min 05 s left seed kernel 4 KiB');
    p.tick();
    p.tick();
    p.step('seed skipsync 1 MiB');
    expect(renderBar(p.event())).toMatch(/^\[#{12}\.{12}\] 2\/4 ~2 min 05 s left seed skipsync 1 MiB$/);
    expect(renderBar(p.event(), 20)).toHaveLength(19);
    expect(renderBar({ done: 1, total: 2, label: 'x' }, 80, 'stock kernel (boot 1 of 2) ')).toBe('stock kernel (boot 1 of 2) [############............] 1/2 x');
  });

  it('writes machine-readable lines in lines mode, and nothing on stderr', () => {
    const written: string[] = [];
    const logged: string[] = [];
    const log = console.log;
    console.log = (line: string) => logged.push(line);
    try {
      const p = new Progress([{ key: 'a', estimateMs: 4000 }, { key: 'b', estimateMs: 5000 }, { key: 'c', estimateMs: 0 }], 'lines', (t) => written.push(t));
      p.step('seed warm-up kernel 4 KiB');
      p.tick();
      p.log('a result line');
      p.end();
    } finally {
      console.log = log;
    }
    expect(written).toEqual([]);
    expect(logged.map((l) => parseProgressLine(l) ?? l)).toEqual([
      { done: 0, total: 3, label: 'seed warm-up kernel 4 KiB', leftMs: 9000 },
      { done: 1, total: 3, label: 'seed warm-up kernel 4 KiB', leftMs: 9000 }, // (the time left is redrawn at the next step)
      'a result line',
    ]);
  });
});

describe('progress lines', () => {
  it('round-trip, and anything else is not one', () => {
    const e = { done: 3, total: 40, label: 'seed round 1/7 kernel 4 KiB', leftMs: 61_000 };
    expect(progressLine(e)).toBe('@@progress {"done":3,"total":40,"label":"seed round 1/7 kernel 4 KiB","leftMs":61000}');
    expect(parseProgressLine(progressLine(e))).toEqual(e);
    expect(parseProgressLine('dmabuf heap: alloc 4096 bytes 10 times in 100 ns \t 10 ns/call')).toBeUndefined();
    expect(parseProgressLine('@@progress {not json')).toBeUndefined();
    expect(parseProgressLine('@@progress {"done":"3","total":4,"label":""}')).toBeUndefined();
  });

  it('format durations', () => {
    expect([0, 44_600, 60_000, 185_000].map(formatDuration)).toEqual(['0 s', '45 s', '1 min 00 s', '3 min 05 s']);
  });
});

describe('time left', () => {
  it('expects a heap at a size to take as long as in its earlier rounds, and scales the first estimates', () => {
    const p = new Progress(
      [
        { key: 'seed|kernel|4096', estimateMs: 100 },
        { key: 'seed|kernel|4096', estimateMs: 100 },
        { key: 'seed|skipsync|4096', estimateMs: 100 },
        { key: 'seed|skipsync|4096', estimateMs: 100 }, // failed before: not counted
        { key: 'seed|kernel|4096', estimateMs: 100 },
        { key: 'mix|kernel|1', estimateMs: 200 },
      ],
      'off',
    );
    expect(p.predict('seed|kernel|4096', 100)).toBe(100); // nothing ran yet: the estimate
    p.tick(300); // took 3× its estimate
    p.tick(500); // a later round: history, not scale
    expect(p.predict('seed|kernel|4096', 100)).toBe(400);
    expect(p.predict('seed|skipsync|4096', 100)).toBe(300);
    p.tick(600); // skipsync: its own first time, 6× its estimate
    p.tick();
    p.step('seed round 3/3 kernel 4 KiB');
    expect(p.event().leftMs).toBe(400 + 200 * (900 / 200)); // the kernel as before; the mix scaled by (300 + 600) / (100 + 100)
  });
});
