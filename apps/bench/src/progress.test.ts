import { describe, expect, it } from 'vitest';
import { barWanted, Eta, formatDuration, parseProgressLine, Progress, progressLine, progressMode, renderBar } from './progress.js';

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
    const p = new Progress(4, 'off');
    p.step('seed kernel 4 KiB');
    expect(p.render()).toBe('[........................] 0/4 seed kernel 4 KiB');
    p.tick();
    p.tick();
    p.step('seed skipsync 1 MiB', 125_000);
    expect(p.render()).toMatch(/^\[#{12}\.{12}\] 2\/4 ~2 min 05 s left seed skipsync 1 MiB$/);
    expect(p.render(20)).toHaveLength(19);
    expect(renderBar({ done: 1, total: 2, label: 'x' }, 80, 'stock kernel (boot 1 of 2) ')).toBe('stock kernel (boot 1 of 2) [############............] 1/2 x');
  });

  it('writes machine-readable lines in lines mode, and nothing on stderr', () => {
    const written: string[] = [];
    const logged: string[] = [];
    const log = console.log;
    console.log = (line: string) => logged.push(line);
    try {
      const p = new Progress(3, 'lines', (t) => written.push(t));
      p.step('seed warm-up kernel 4 KiB', 9000);
      p.tick();
      p.log('a result line');
      p.end();
    } finally {
      console.log = log;
    }
    expect(written).toEqual([]);
    expect(logged.map((l) => parseProgressLine(l) ?? l)).toEqual([
      { done: 0, total: 3, label: 'seed warm-up kernel 4 KiB', leftMs: 9000 },
      { done: 1, total: 3, label: 'seed warm-up kernel 4 KiB', leftMs: 9000 },
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
    const eta = new Eta();
    expect(eta.predict('seed|kernel|4096', 100)).toBe(100); // nothing ran yet: the estimate
    eta.record('seed|kernel|4096', 100, 300); // took 3× its estimate
    eta.record('seed|kernel|4096', 100, 500); // a later round: history, not scale
    expect(eta.predict('seed|kernel|4096', 100)).toBe(400);
    expect(eta.predict('seed|skipsync|4096', 100)).toBe(300);
    expect(eta.left([{ key: 'seed|kernel|4096', estimateMs: 100 }, { key: 'mix|kernel|1', estimateMs: 200 }])).toBe(400 + 600);
  });
});
