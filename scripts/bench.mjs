// `npm run bench` after set-up: runs apps/bench here when this kernel has dma-buf heaps and udmabuf,
// otherwise inside the VM test bed. Arguments after `--` go to the benchmark (see apps/bench/README.md).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
if (!args.includes('--json') && !args.includes('--render')) args.push('--json', 'bench-results/bench.json');
const command = ['node', 'apps/bench/dist/cli.js', ...args];

// Re-rendering the HTML of an earlier run, or the usage, needs no dma-buf heap.
if (args.includes('--render') || args.includes('--help')) {
  process.exit(spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit' }).status ?? 1);
}
if (existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf') && process.env.DMAHEAP_FORCE_VM !== '1') {
  console.log('Running on this machine (its kernel has /dev/dma_heap and /dev/udmabuf).');
  process.exit(spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit' }).status ?? 1);
}
// The memory-pressure scenario fills most of the guest's free memory, and under software emulation the kernel
// zeroes pages at some 50 MB/s: --quick boots a 1 GiB guest so that it fits its minute, a full run 3 GiB.
const memory = args.includes('--quick') ? '1G' : '3G';
console.log(
  `Running inside the VM test bed (${memory} guest): this kernel lacks /dev/dma_heap or /dev/udmabuf. Under software emulation, read the ratios, not the absolute times.`,
);
const { runInVm } = await import('../tools/vm/dist/index.js');
const r = await runInVm({ command, cwd: root, memory, timeoutMs: 60 * 60_000 });
console.log(`[bench] VM run: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(0)} s (${r.accel})`);
process.exit(r.exitCode);
