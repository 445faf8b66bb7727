// Sizes, colour and aligned tables.
import { describe, expect, it } from 'vitest';
import { colorWanted, displayWidth, formatBytes, formatDelta, makeStyle, stripAnsi, wrap } from './format.js';
import { renderTable } from './table.js';

describe('formatBytes', () => {
  it('uses binary units with at most one decimal, none when whole', () => {
    expect([0, 512, 4096, 65536, 1 << 20, 1.5 * (1 << 20), 1088 * 1024, 3110400, 2 ** 30, 5 * 2 ** 40].map(formatBytes)).toEqual([
      '0 B', '512 B', '4 KiB', '64 KiB', '1 MiB', '1.5 MiB', '1.1 MiB', '3 MiB', '1 GiB', '5 TiB',
    ]);
    expect(formatBytes(3110400 + 1)).toBe('3 MiB');
    expect(formatBytes(-65536)).toBe('-64 KiB');
    expect([formatDelta(131072), formatDelta(-4096), formatDelta(0)]).toEqual(['+128 KiB', '-4 KiB', '0 B']);
  });
});

describe('colour', () => {
  it('only on a terminal; never with NO_COLOR or TERM=dumb; FORCE_COLOR anywhere', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true); // no-color.org: set and not empty
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
  });

  it('styles with ANSI codes, or not at all', () => {
    expect(makeStyle(true).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(makeStyle(false).red('x')).toBe('x');
    expect(stripAnsi(makeStyle(true).bold('abc'))).toBe('abc');
    expect(displayWidth(makeStyle(true).bold('≥1 MiB'))).toBe(6);
  });
});

describe('renderTable', () => {
  const columns = [{ header: 'PID', align: 'right' as const }, { header: 'NAME' }, { header: 'SIZE', align: 'right' as const }];
  const rows = [
    ['7', 'frame', '1 MiB'],
    ['12345', 'a-much-longer-name', '64 KiB'],
    ['8', '', '4 KiB'],
  ];

  it('pads every column to its widest cell, numbers to the right, with no trailing blanks', () => {
    expect(renderTable(columns, rows)).toEqual([
      '  PID  NAME                  SIZE',
      '    7  frame                1 MiB',
      '12345  a-much-longer-name  64 KiB',
      '    8                       4 KiB',
    ]);
  });

  it('aligns the same with colour on (codes take no width)', () => {
    const style = makeStyle(true);
    const coloured = renderTable(columns, rows.map((r) => [r[0]!, { text: r[1]!, style: 'cyan' as const }, r[2]!]), { style });
    expect(coloured.map(stripAnsi)).toEqual(renderTable(columns, rows));
    expect(coloured[0]).toContain('\x1b[1m');
    expect(coloured[1]).toContain('\x1b[36mframe\x1b[39m');
  });

  it('cuts long cells with an ellipsis, indents, and leaves out the header on request', () => {
    expect(renderTable([{ header: 'CMD', max: 8 }], [['node /a/long/path.mjs']], { indent: '  ', noHeader: true })).toEqual(['  node /a…']);
  });
});

describe('wrap', () => {
  it('breaks between words, indents the lines after the first, keeps a long word whole', () => {
    expect(wrap('one two three four five', 11, '  ', '    ')).toEqual(['  one two', '    three', '    four', '    five']);
    expect(wrap('a /a/very/long/path/that/does/not/fit b', 10)).toEqual(['a', '/a/very/long/path/that/does/not/fit', 'b']);
    expect(wrap('', 10, '> ')).toEqual(['> ']);
  });
});
