#!/usr/bin/env node
// dmaheap-bench: the seed series' allocation microbenchmark, every heap side by side, ratios to the kernel heap.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { seedFreshUdmabuf, seedInC, seedLine, seedOnHeap, type LoopOptions, type Result } from './measure.js';
import { formatSize, parseSize, table } from './report.js';
import { VARIANTS } from './variants.js';

const USAGE = `usage: dmaheap-bench [--heaps id,...] [--sizes 4K,1M,...] [--iterations N] [--max-seconds S] [--quick] [--json FILE] [--list]
heaps: ${VARIANTS.map((v) => v.id).join(', ')}`;

const { values } = parseArgs({
  options: {
    heaps: { type: 'string' },
    sizes: { type: 'string', default: '4K,1M,8M,32M' },
    iterations: { type: 'string', default: '5000' },
    'max-seconds': { type: 'string', default: '8' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.list) {
  for (const v of VARIANTS) console.log(`${v.id.padEnd(14)} ${v.label}${v.skip() ? `  (skipped here: ${v.skip()})` : ''}`);
  process.exit(0);
}

const sizes = values.sizes.split(',').map(parseSize);
const wanted = values.heaps?.split(',');
const unknown = wanted?.filter((w) => !VARIANTS.some((v) => v.id === w));
if (unknown?.length) {
  console.error(`unknown heap ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const loop: LoopOptions = values.quick
  ? { iterations: 200, maxMs: 1500, warmup: 5 }
  : { iterations: Number(values.iterations), maxMs: Number(values['max-seconds']) * 1000, warmup: 20 };

const results: Result[] = [];
const skipped: Array<{ variant: string; reason: string }> = [];
for (const v of VARIANTS.filter((v) => !wanted || wanted.includes(v.id))) {
  const reason = v.skip();
  if (reason) {
    skipped.push({ variant: v.id, reason });
    console.log(`skipped ${v.label}: ${reason}`);
    continue;
  }
  const heap = v.open?.();
  try {
    for (const size of sizes) {
      const r = v.kind === 'c-loop' ? seedInC(v, size, loop) : v.kind === 'fresh-udmabuf' ? seedFreshUdmabuf(v, size, loop) : seedOnHeap(v, heap!, size, loop);
      results.push(r);
      console.log(`${v.label.padEnd(52)} ${seedLine(r)}`);
    }
  } finally {
    heap?.close();
  }
}

for (const r of results) {
  const k = results.find((x) => x.variant === 'kernel' && x.size === r.size && x.scenario === r.scenario);
  if (k) r.ratioToKernel = k.nsPerCall / r.nsPerCall;
}

console.log('\n' + table(results, sizes));
const report = {
  format: 'dmaheap-bench/1',
  date: new Date().toISOString(),
  machine: {
    kernel: release(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    inVm: process.env.DMAHEAP_IN_VM === '1',
    emulated: process.env.DMAHEAP_VM_ACCEL === 'tcg' || /QEMU TCG|QEMU Virtual/.test(readCpuModel()),
  },
  options: { sizes, ...loop },
  skipped,
  results,
};
if (values.json) {
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nJSON written to ${values.json}`);
}
if (report.machine.emulated) console.log('Measured under software emulation: compare the ratios, not the absolute times.');
console.log(`sizes: ${sizes.map(formatSize).join(', ')}; iterations up to ${loop.iterations}, at most ${loop.maxMs / 1000} s per run`);

function readCpuModel(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}
