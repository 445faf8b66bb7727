// `npm run bench` after set-up: runs apps/bench here when this kernel has dma-buf heaps and udmabuf,
// otherwise inside the VM test bed. Arguments after `--` go to the benchmark (see apps/bench/README.md).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
if (!args.includes('--json')) args.push('--json', 'bench-results/bench.json');
const command = ['node', 'apps/bench/dist/cli.js', ...args];

if (existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf') && process.env.DMAHEAP_FORCE_VM !== '1') {
  console.log('Running on this machine (its kernel has /dev/dma_heap and /dev/udmabuf).');
  process.exit(spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit' }).status ?? 1);
}
console.log('Running inside the VM test bed: this kernel lacks /dev/dma_heap or /dev/udmabuf. Under software emulation, read the ratios, not the absolute times.');
const { runInVm } = await import('../tools/vm/dist/index.js');
const r = await runInVm({ command, cwd: root, memory: '3G', timeoutMs: 60 * 60_000 });
console.log(`[bench] VM run: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(0)} s (${r.accel})`);
process.exit(r.exitCode);
