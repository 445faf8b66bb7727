// `dmaheap doctor` as text.
import type { Resolution } from './doctor-registry.js';
import type { DeviceNode, DoctorReport, Fix } from './doctor.js';
import { formatBytes, wrap, type Style } from './format.js';
import { renderTable, type Cell } from './table.js';

const orNone = (v: number | null, f: (n: number) => string = String) => (v === null ? '-' : f(v));

let WIDTH = 100;

function fixLines(fix: Fix, indent: string): string[] {
  const out = wrap(`fix: ${fix.text}`, WIDTH, indent, `${indent}     `);
  for (const c of fix.commands) out.push(`${indent}  # ${c}`);
  return out;
}

/** The first clause of an error message (core's messages go on with what was tried, which `why` says). */
const firstClause = (message: string | null) => (message ?? '').split('; ')[0]!;

function opens(n: DeviceNode, style: Style): Cell {
  if (n.canOpen) return { text: 'yes', style: 'green' };
  return { text: `no (${n.error})`, style: n.error === 'ENOENT' ? 'dim' : 'red' };
}

function resolution(r: Resolution, style: Style): string[] {
  const head = `openHeap('${r.asked}')`;
  if (r.opens) {
    const from = r.opens.provider ? ` from ${r.opens.provider}` : '';
    return [`${style.bold(head)} opens ${style.green(r.opens.heap)} (backing ${r.opens.backing})${from}`, ...wrap(`why: ${r.why}`, WIDTH - 2, '  ', '       ')];
  }
  return [`${style.bold(head)} ${style.red('fails')}: ${firstClause(r.error)}`, ...wrap(`why: ${r.why}`, WIDTH - 2, '  ', '       ')];
}

/** The report as text, lines wrapped at `width` columns (default 100). */
export function renderDoctor(r: DoctorReport, style: Style, width = 100): string {
  WIDTH = Math.max(60, width);
  const out: string[] = [];
  const section = (title: string) => out.push('', style.bold(title));
  out.push(`User ${r.user.name ?? r.user.uid} (uid ${r.user.uid}, groups ${r.user.groupNames.join(' ') || '-'}), kernel ${r.kernel.release ?? '?'}`);

  section(`dma-buf heaps (${r.heaps.dir})`);
  if (!r.heaps.present) out.push(`  ${style.yellow(`no ${r.heaps.dir}: this kernel has no dma-buf heaps (CONFIG_DMABUF_HEAPS, CONFIG_DMABUF_HEAPS_SYSTEM)`)}`);
  else if (r.heaps.nodes.length === 0) out.push('  none');
  else {
    const lines = renderTable(
      [{ header: 'HEAP' }, { header: 'KIND' }, { header: 'MODE' }, { header: 'OWNER' }, { header: 'GROUP' }, { header: 'OPENS FOR THIS USER' }],
      r.heaps.nodes.map((n) => [n.name, n.cma ? 'cma' : n.name === 'system' ? 'system' : '-', n.mode ?? '-', n.owner ?? '-', n.group ?? '-', opens(n, style)]),
      { style, indent: '  ' },
    );
    out.push(...lines);
    for (const n of r.heaps.nodes) if (n.fix) out.push(`  ${n.name}:`, ...fixLines(n.fix, '    '));
  }

  section(`udmabuf (${r.udmabuf.path})`);
  const u = r.udmabuf;
  if (!u.present) out.push(`  ${style.yellow('absent: no CONFIG_UDMABUF (or the module is not loaded); @dmaheap/system-heap needs it')}`);
  else {
    out.push(`  mode ${u.mode} ${u.owner}:${u.group}; opens read-write for this user: ${u.canOpen ? style.green('yes') : style.red(`no (${u.error})`)}`);
    if (u.fix) out.push(...fixLines(u.fix, '  '));
  }
  out.push(
    `  limits: list_limit ${orNone(u.limits.listLimit)} items per UDMABUF_CREATE_LIST, size_limit_mb ${orNone(u.limits.sizeLimitMb, (n) => formatBytes(n * 1024 * 1024))} per buffer` +
      (u.limits.listLimit === null ? style.dim(' (/sys/module/udmabuf/parameters not readable)') : ''),
  );

  section('CMA (contiguous memory)');
  if (r.cma.total === null) out.push(...wrap('no CmaTotal in /proc/meminfo: this kernel has no CMA (CONFIG_CMA); a cma= boot option or a device tree reserves it', WIDTH, '  '));
  else out.push(`  CmaTotal ${formatBytes(r.cma.total)}, CmaFree ${orNone(r.cma.free, formatBytes)} (movable pages in CMA lower CmaFree; the allocator migrates them)`);
  if (r.cma.areas.length) {
    out.push(
      ...renderTable(
        [
          { header: 'AREA' },
          { header: 'SIZE', align: 'right' },
          { header: 'USED', align: 'right' },
          { header: 'LARGEST FREE', align: 'right' },
          { header: 'ALLOCATED', align: 'right' },
          { header: 'FAILED', align: 'right' },
          { header: 'RELEASED', align: 'right' },
        ],
        r.cma.areas.map((a) => {
          const page = a.bytes !== null && a.pages ? a.bytes / a.pages : 4096;
          const bytes = (p: number | null) => orNone(p, (n) => formatBytes(n * page));
          return [a.name, orNone(a.bytes, formatBytes), bytes(a.usedPages), bytes(a.maxChunkPages), orNone(a.allocPagesSuccess), orNone(a.allocPagesFail), orNone(a.releasePagesSuccess)];
        }),
        { style, indent: '  ' },
      ),
    );
    out.push(style.dim('  ALLOCATED, FAILED, RELEASED: pages since boot (sysfs); SIZE, USED, LARGEST FREE: debugfs'));
  }
  out.push(`  sysfs /sys/kernel/mm/cma: ${r.cma.sysfs}`, `  debugfs /sys/kernel/debug/cma: ${r.cma.debugfs}`);

  section('Huge pages');
  const h = r.hugetlb;
  out.push(
    `  hugetlb: ${orNone(h.total)} pages of ${orNone(h.pageSize, formatBytes)} in the pool, ${orNone(h.free)} free, ${orNone(h.reserved)} reserved, ${orNone(h.surplus)} surplus` +
      (h.sizes.length ? ` (${h.sizes.map((s) => `${formatBytes(s.pageSize)}: ${orNone(s.pages)}`).join(', ')})` : ''),
  );
  out.push(`  transparent huge pages: enabled ${r.thp.enabled ?? '-'}, shmem_enabled ${r.thp.shmemEnabled ?? '-'}, defrag ${r.thp.defrag ?? '-'}`);

  section('Kernel caveats');
  for (const c of r.caveats) {
    const mark = c.applies === 'yes' ? style.yellow('[applies]') : c.applies === 'no' ? style.dim('[n/a]    ') : '[unknown]';
    out.push(...wrap(`${mark} ${c.id} (${c.basis}): ${c.text}`, WIDTH, '  ', '            '));
  }

  section('What openHeap opens here');
  for (const line of [...resolution(r.openHeap.system, style), ...resolution(r.openHeap.cma, style)]) out.push(`  ${line}`);
  for (const e of r.openHeap.loadErrors) out.push(`  ${style.red('did not load')}: ${e}`);
  if (r.openHeap.heaps.length) {
    out.push(
      ...renderTable(
        [{ header: 'NAME' }, { header: 'PROVIDER' }, { header: 'PRIORITY', align: 'right' }, { header: 'AVAILABLE' }, { header: 'REASON' }],
        r.openHeap.heaps.map((x) => [x.name, x.provider, String(x.priority), x.available ? { text: 'yes', style: 'green' } : { text: 'no', style: 'red' }, x.reason ?? '']),
        { style, indent: '  ' },
      ),
    );
  }

  section('Problems');
  if (r.problems.length === 0) out.push(`  ${style.green('none: this user can allocate dma-bufs here')}`);
  for (const p of r.problems) out.push(...wrap(`${style.red('-')} ${p}`, WIDTH, '  ', '    '));
  return out.join('\n') + '\n';
}
