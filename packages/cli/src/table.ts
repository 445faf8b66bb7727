// Aligned text tables: a header row, columns padded to their widest cell (colour codes not counted), numbers
// right-aligned, two spaces between columns, no trailing blanks.
import { displayWidth, type Style, type StyleName } from './format.js';

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Cells longer than this are cut, ending in `…`. */
  max?: number;
}

/** A cell: text, or text with a style applied after alignment. */
export type Cell = string | { text: string; style?: StyleName };

export interface TableOptions {
  style?: Style;
  /** Prefix of every line (indentation). */
  indent?: string;
  /** Leave out the header row. */
  noHeader?: boolean;
}

function cut(text: string, max: number | undefined): string {
  if (max === undefined) return text;
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

export function renderTable(columns: readonly Column[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string[] {
  const { style, indent = '', noHeader = false } = options;
  const cells = rows.map((row) =>
    columns.map((c, i) => {
      const cell = row[i] ?? '';
      const text = cut(typeof cell === 'string' ? cell : cell.text, c.max);
      return { text, style: typeof cell === 'string' ? undefined : cell.style };
    }),
  );
  const widths = columns.map((c, i) => Math.max(noHeader ? 0 : displayWidth(c.header), ...cells.map((r) => displayWidth(r[i]!.text))));
  const line = (parts: Array<{ text: string; style: StyleName | undefined }>, header: boolean) => {
    const out = parts.map((p, i) => {
      const pad = ' '.repeat(widths[i]! - displayWidth(p.text));
      const styled = !style ? p.text : header ? style.bold(p.text) : p.style ? style[p.style](p.text) : p.text;
      return columns[i]!.align === 'right' ? pad + styled : styled + pad;
    });
    return (indent + out.join('  ')).replace(/\s+$/, '');
  };
  const lines: string[] = [];
  if (!noHeader) lines.push(line(columns.map((c) => ({ text: c.header, style: undefined })), true));
  for (const r of cells) lines.push(line(r, false));
  return lines;
}
