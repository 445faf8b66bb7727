import { describe, expect, it } from 'vitest';
import { Progress } from './progress.js';

describe('the progress bar', () => {
  it('shows only on a terminal someone watches', () => {
    expect(Progress.wanted({ isTTY: true }, {})).toBe(true);
    expect(Progress.wanted({ isTTY: false }, {})).toBe(false);
    expect(Progress.wanted({}, {})).toBe(false);
    expect(Progress.wanted({ isTTY: true }, { CI: '1' })).toBe(false);
    expect(Progress.wanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false); // the VM's serial console
  });

  it('draws done/total and the current step, cut to the width', () => {
    const p = new Progress(4, false);
    p.step('seed kernel 4 KiB');
    expect(p.render()).toBe('[........................] 0/4 seed kernel 4 KiB');
    p.tick();
    p.tick();
    expect(p.render()).toMatch(/^\[#{12}\.{12}\] 2\/4 /);
    expect(p.render(20)).toHaveLength(19);
  });
});
