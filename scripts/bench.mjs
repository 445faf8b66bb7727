// `npm run bench` after set-up: runs apps/bench here when this kernel has dma-buf heaps and udmabuf,
// otherwise inside the VM test bed: the host's calibration first (what zeroing, system calls and JavaScript
// cost on this machine, for the report's calibration block), then every heap on Debian's stock kernel, then
// the CMA heaps in a second boot on the CMA test kernel (Debian's x86 kernels have no CMA), merged into one
// report; with `--arch arm64`, one boot of the arm64 test kernel (every heap, CMA too) into bench-arm64.json. What
// each boot runs, with its writable directories, is planned in apps/bench/src/vm-plan.ts.
// Arguments after `--` go to the benchmark (see apps/bench/README.md).
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = ['node', 'apps/bench/dist/cli.js'];
const here = (args) => spawnSync(cli[0], [...cli.slice(1), ...args], { cwd: root, stdio: 'inherit' }).status ?? 1;
const { optionValue, planBench, withoutOption } = await import('../apps/bench/dist/vm-plan.js');
const { barWanted, formatDuration, parseProgressLine, renderBar } = await import('../apps/bench/dist/progress.js');

const args = process.argv.slice(2);

// Re-rendering the HTML of an earlier run, the host's calibration alone, or the usage, needs no dma-buf heap.
if (optionValue(args, 'render') || optionValue(args, 'calibrate') || args.includes('--help') || args.includes('--list')) process.exit(here(args));
const otherArch = (optionValue(args, 'arch') ?? process.arch) !== process.arch;
if (!otherArch && existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf') && process.env.DMAHEAP_FORCE_VM !== '1') {
  console.log('Running on this machine (its kernel has /dev/dma_heap and /dev/udmabuf).');
  const own = withoutOption(args, 'arch');
  process.exit(here(optionValue(own, 'json') ? own : [...own, '--json', 'bench-results/bench.json']));
}

const { runInVm, ensureCmaKernel, ensureTestKernel, cmaKernelBuildTime, VM_ARM64_TEST_SETUP, VM_CMA_SIZE } = await import('../tools/vm/dist/index.js');
const drawBar = barWanted(process.stderr, process.env);
const plan = planBench(args, { root, cmaCmdline: `cma=${VM_CMA_SIZE}`, progressLines: drawBar });
console.log(
  plan.arch === 'arm64'
    ? `Running inside the VM test bed's arm64 guest (${plan.memory}). Under software emulation, read the ratios, not the absolute times.`
    : `Running inside the VM test bed (${plan.memory} guest): this kernel lacks /dev/dma_heap or /dev/udmabuf. Under software emulation, read the ratios, not the absolute times.`,
);
const started = Date.now();
// The guest cannot make mount points on the host's read-only root: the report directories are made here.
for (const dir of plan.mkdirs) mkdirSync(dir, { recursive: true });

// The host's side of the calibration block: the same measurements as in the guest, here.
const calibrated = spawnSync(plan.calibrate[0], plan.calibrate.slice(1), { cwd: root, encoding: 'utf8' });
if (calibrated.status !== 0) console.log(`[bench] host calibration failed (exit ${calibrated.status}); the report will say that ratios are not checked against the host\n${calibrated.stderr}`);
else console.log(`[bench] host calibration written to ${plan.hostCalibration}`);
const vmArgs = (command) => (calibrated.status === 0 ? command : withoutOption(command, 'host-calibration'));

/** The guest's output: progress lines become the bar on this terminal (when it is one); the rest is printed. */
function outputFor(boot, index, count) {
  let shown = false;
  const prefix = `${boot} kernel (boot ${index} of ${count}) `;
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  return {
    onLine(line) {
      const e = parseProgressLine(line);
      if (e) {
        if (drawBar) {
          process.stderr.write('\r\x1b[K' + renderBar(e, process.stderr.columns ?? 80, prefix));
          shown = true;
        }
        return;
      }
      clear();
      process.stdout.write(line + '\n');
    },
    end: clear,
  };
}

let exitCode = 0;
const booted = new Set();
for (const [i, run] of plan.runs.entries()) {
  const options = { ...run.options, command: vmArgs(run.options.command) };
  if (run.boot === 'cma') {
    // --quick promises a short run: it uses the CMA kernel only when it is built already (npm test builds it).
    if (plan.quick && cmaKernelBuildTime() === undefined) {
      console.log(`[bench] skipped ${plan.cmaHeaps.join(', ')}: the CMA test kernel is not built yet (npm test or a run without --quick builds it, once)`);
      continue;
    }
    if (cmaKernelBuildTime() === undefined) console.log('[bench] building the CMA test kernel first (once, about 6-13 minutes on 2 cores)');
    options.kernel = ensureCmaKernel();
  }
  if (run.boot === 'arm64') {
    if (cmaKernelBuildTime('arm64') === undefined) console.log('[bench] building the arm64 test kernel first (once; npm test builds it too)');
    Object.assign(options, { hugepages: VM_ARM64_TEST_SETUP.hugepages, setup: VM_ARM64_TEST_SETUP.setup }, { kernel: ensureTestKernel('arm64') });
  }
  const out = outputFor({ cma: 'CMA', arm64: 'arm64', stock: 'stock' }[run.boot], i + 1, plan.runs.length);
  const r = await runInVm({ ...options, onLine: out.onLine });
  out.end();
  booted.add(run.boot);
  const name = run.boot === 'stock' ? 'the stock kernel' : `the ${run.boot === 'cma' ? 'CMA' : 'arm64 test'} kernel ${options.kernel.release}`;
  console.log(`[bench] VM run on ${name}: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(0)} s (${r.accel})`);
  exitCode ||= r.exitCode;
}
// Merged even when a run failed: the report then lists the failed runs beside everything that worked.
if (plan.merge && booted.has('cma') && plan.mergeInputs.every((f) => existsSync(f))) exitCode ||= here(plan.merge);
console.log(`[bench] ${formatDuration(Date.now() - started)} in all`);
process.exit(exitCode);
