// `npm run bench` after set-up: runs apps/bench here when this kernel has dma-buf heaps and udmabuf,
// otherwise inside the VM test bed: every heap on Debian's stock kernel, then the CMA heaps in a second boot on
// the CMA test kernel (Debian's x86 kernels have no CMA), merged into one report. Arguments after `--` go to
// the benchmark (see apps/bench/README.md).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = ['node', 'apps/bench/dist/cli.js'];
const here = (args) => spawnSync(cli[0], [...cli.slice(1), ...args], { cwd: root, stdio: 'inherit' }).status ?? 1;

/** The value of `--name V` or `--name=V` in args. */
const optionValue = (args, name) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(name.length + 3) : args[i + 1];
};
/** args with `--name` set to value (replacing it where given). */
const withOption = (args, name, value) => {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) i++;
    else if (!args[i].startsWith(`--${name}=`)) out.push(args[i]);
  }
  return [...out, `--${name}`, value];
};

const args = process.argv.slice(2);
if (!optionValue(args, 'json') && !optionValue(args, 'render')) args.push('--json', 'bench-results/bench.json');

// Re-rendering the HTML of an earlier run, or the usage, needs no dma-buf heap.
if (optionValue(args, 'render') || args.includes('--help') || args.includes('--list')) process.exit(here(args));
if (existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf') && process.env.DMAHEAP_FORCE_VM !== '1') {
  console.log('Running on this machine (its kernel has /dev/dma_heap and /dev/udmabuf).');
  process.exit(here(args));
}

const quick = args.includes('--quick');
// The memory-pressure scenario fills most of the guest's free memory, and under software emulation the kernel
// zeroes pages at some 50 MB/s: --quick boots a 1 GiB guest so that it fits its minute, a full run 3 GiB.
const memory = quick ? '1G' : '3G';
console.log(
  `Running inside the VM test bed (${memory} guest): this kernel lacks /dev/dma_heap or /dev/udmabuf. Under software emulation, read the ratios, not the absolute times.`,
);
const { runInVm, ensureCmaKernel, cmaKernelBuildTime, VM_CMA_SIZE } = await import('../tools/vm/dist/index.js');

const CMA_HEAPS = ['cma', 'cma-heap', 'pool-cma'];
const asked = optionValue(args, 'heaps')?.split(',');
const cmaHeaps = (asked ?? CMA_HEAPS).filter((h) => CMA_HEAPS.includes(h));
const stockHeaps = asked?.filter((h) => !CMA_HEAPS.includes(h));
const json = optionValue(args, 'json');
const cmaJson = stockHeaps?.length === 0 ? json : json.replace(/(\.json)?$/, '-cma.json');

let exitCode = 0;
if (stockHeaps?.length !== 0) {
  const r = await runInVm({ command: [...cli, ...args], cwd: root, memory, timeoutMs: 60 * 60_000 });
  console.log(`[bench] VM run on the stock kernel: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(0)} s (${r.accel})`);
  exitCode ||= r.exitCode;
}

if (cmaHeaps.length) {
  // --quick promises about a minute: it uses the CMA kernel only when it is built already (npm test builds it).
  if (quick && cmaKernelBuildTime() === undefined) {
    console.log(`[bench] skipped ${cmaHeaps.join(', ')}: the CMA test kernel is not built yet (npm test or a run without --quick builds it, once)`);
  } else {
    if (cmaKernelBuildTime() === undefined) console.log('[bench] building the CMA test kernel first (once, about 6-13 minutes on 2 cores)');
    const kernel = ensureCmaKernel();
    // The kernel heap runs again in this boot: the CMA heaps' ratios are to it, measured side by side.
    let cmaArgs = withOption(withOption(args, 'heaps', ['kernel', ...cmaHeaps].join(',')), 'json', cmaJson);
    if (cmaJson !== json) cmaArgs = withOption(cmaArgs, 'html', cmaJson.replace(/\.json$/, '.html'));
    const r = await runInVm({ command: [...cli, ...cmaArgs], cwd: root, memory, kernel, cmdline: `cma=${VM_CMA_SIZE}`, timeoutMs: 60 * 60_000 });
    console.log(`[bench] VM run on the CMA kernel ${kernel.release}: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(0)} s (${r.accel})`);
    exitCode ||= r.exitCode;
    // Merged even when a run failed: the report then lists the failed runs beside everything that worked.
    if (cmaJson !== json && existsSync(join(root, cmaJson)) && existsSync(join(root, json))) {
      const merged = here(['--render', json, '--merge', cmaJson, ...(optionValue(args, 'html') ? ['--html', optionValue(args, 'html')] : [])]);
      exitCode ||= merged;
    }
  }
}
process.exit(exitCode);
