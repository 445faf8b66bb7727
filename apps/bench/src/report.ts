// The terminal table: ns/call per heap and size, with the ratio to the kernel system heap.
import type { Result } from './measure.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `4K`, `1M`, `1.5M`, `4096` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (use e.g. 4K, 1M, 8M)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

export function formatSize(bytes: number): string {
  for (const [u, n] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${u}iB`;
  }
  return `${bytes} B`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}

export function table(results: Result[], sizes: number[]): string {
  const variants = [...new Map(results.map((r) => [r.variant, r.label])).entries()];
  const head = ['heap', ...sizes.map(formatSize)];
  const rows = variants.map(([id, label]) => [
    label,
    ...sizes.map((s) => {
      const r = results.find((x) => x.variant === id && x.size === s);
      if (!r) return '-';
      const ratio = r.ratioToKernel === undefined || id === 'kernel' ? '' : ` ×${r.ratioToKernel.toFixed(2)}`;
      return `${formatNs(r.nsPerCall)}${ratio}`;
    }),
  ]);
  const widths = head.map((_, c) => Math.max(...[head, ...rows].map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [
    'ns per allocate+close (×N: kernel heap time / this heap time, higher is faster)',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}
