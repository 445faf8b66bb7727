// Human sizes and colour. Colour is used only on a terminal: never when NO_COLOR is set (to anything but the
// empty string, https://no-color.org), never with TERM=dumb; FORCE_COLOR (not empty, not 0) turns it on anywhere.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `512 B`, `64 KiB`, `1.5 MiB`: binary units, at most one decimal, none when the value is whole. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${sign}${text} ${UNITS[unit]}`;
}

/** A change in bytes: `+128 KiB`, `-64 KiB`, `0 B`. */
export function formatDelta(bytes: number): string {
  return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

/** A change in a count: `+3`, `-1`, `0`. */
export function formatCountDelta(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

export type StyleName = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
export type Style = Record<StyleName, (text: string) => string> & { readonly enabled: boolean };

const CODES: Record<StyleName, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

export function makeStyle(enabled: boolean): Style {
  const style = { enabled } as Style;
  for (const [name, [on, off]] of Object.entries(CODES) as Array<[StyleName, [number, number]]>) {
    style[name] = enabled ? (text: string) => (text === '' ? text : `\x1b[${on}m${text}\x1b[${off}m`) : (text: string) => text;
  }
  return style;
}

/** Whether to colour output written to a stream: a terminal, and neither NO_COLOR nor TERM=dumb. */
export function colorWanted(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0') return true;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

/** Removes ANSI colour codes (for measuring widths). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Display width: code points, colour codes not counted. */
export function displayWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

/** Words of `text` in lines of at most `width` columns (a longer word stands alone), the first after `first`, the rest after `rest`. */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && displayWidth(line) + 1 + displayWidth(word) > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}
