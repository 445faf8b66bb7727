// `npm test` after set-up: unit tests on the host; kernel tests inside the VM (or directly, where this kernel
// has /dev/dma_heap and /dev/udmabuf); fresh memory in a boot that does not clear pages; memory exhaustion in a small VM of its own; the contiguous-memory tests
// in a boot on the CMA kernel the test bed builds (or directly, where this kernel has a CMA heap); then one
// line `N passed, N failed` for all of them together.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = join(root, 'test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
const vitest = ['node_modules/vitest/vitest.mjs', 'run'];
const report = (name) => ['--reporter=default', '--reporter=json', `--outputFile.json=test-results/${name}.json`];
const started = Date.now();

function count(name, exitCode) {
  const file = join(results, `${name}.json`);
  if (!existsSync(file)) {
    console.error(`[test] ${name}: no results (exit ${exitCode}); counted as one failure`);
    return { passed: 0, failed: 1 };
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
  // A file that failed to load (syntax error, failed import) has no test results of its own: count it.
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  const failed = r.numFailedTests + brokenFiles + (exitCode !== 0 && r.numFailedTests + brokenFiles === 0 ? 1 : 0);
  // What failed, repeated at the very end: CI keeps only the tail of a long log.
  const failures = r.testResults.flatMap((f) => {
    const file = f.name.startsWith(root) ? f.name.slice(root.length + 1) : f.name;
    const tests = f.assertionResults.filter((a) => a.status === 'failed');
    if (tests.length === 0) return f.status === 'failed' ? [`${name}: ${file}: ${firstLine(f.message)}`] : [];
    return tests.map((a) => `${name}: ${file} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
  });
  return { passed: r.numPassedTests, failed, skipped, failures };
}

function firstLine(text) {
  const line = String(text ?? '').split('\n').find((l) => l.trim() !== '') ?? '(no message)';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

console.error('[test] host: unit tests');
const host = spawnSync('node', [...vitest, '--project', 'host', ...report('host')], { cwd: root, stdio: 'inherit' });
const totals = [count('host', host.status ?? 1)];

const kernelHere = existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf');
const forceVm = process.env.DMAHEAP_FORCE_VM === '1';
const { runInVm, VM_TEST_SETUP, VM_NOINIT_SETUP, ensureCmaKernel, ensureTestKernel, cmaKernelBuildTime, VM_CMA_TEST_SETUP, VM_ARM64_TEST_SETUP, VM_ARM64_16K_SETUP } = await import(
  '../tools/vm/dist/index.js'
);
// The scratch projects the host's pack test installed from the packed tarballs (outside the checkout): the VM
// suites run each README's example there, and examples write files beside themselves.
const PACK_DIR = process.env.DMAHEAP_PACK_DIR ?? '/var/tmp/dmaheap-pack';
mkdirSync(PACK_DIR, { recursive: true });

/**
 * Runs one vitest project: directly when this kernel can (`here`), else in a VM booted with what `vm()` gives
 * (which may build a kernel first). A project that cannot run at all counts as one failure.
 */
async function suite(name, { here, what, vm, project = name }) {
  const command = ['node', ...vitest, '--project', project, ...report(name)];
  if (here && !forceVm) {
    console.error(`[test] ${what} on this machine`);
    const here = count(name, spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit' }).status ?? 1);
    return { ...here, kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() };
  }
  console.error(`[test] ${what} inside the VM`);
  let options;
  try {
    options = await vm();
  } catch (err) {
    console.error(`[test] ${name}: no VM to run in; counted as one failure\n${err?.stack ?? err}`);
    return { passed: 0, failed: 1 };
  }
  const r = await runInVm({ command, cwd: root, writable: [root, PACK_DIR], ...options });
  console.error(`[test] ${name} VM run on ${r.release}: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(1)} s (${r.accel}); console log ${r.jobDir}/console.log`);
  return { ...count(name, r.exitCode), kernel: r.release, seconds: Math.round(r.durationMs / 1000) };
}

// About 20 minutes of tests under TCG on 2 cores; the guest is given twice that before it is killed.
totals.push(
  await suite('vm', { here: kernelHere, what: 'kernel tests (stock Debian 6.12)', vm: () => ({ ...VM_TEST_SETUP, timeoutMs: 40 * 60_000 }) }),
);

// Fresh memory reads zero where the kernel does not clear pages at allocation: a boot with init_on_alloc=0 (on a
// machine with real heaps only when it was booted so).
totals.push(
  await suite('noinit', {
    here: kernelHere && /(^|\s)init_on_alloc=0(\s|$)/.test(readFileSync('/proc/cmdline', 'utf8')),
    what: 'fresh-memory tests (pages not cleared at allocation: init_on_alloc=0)',
    vm: () => VM_NOINIT_SETUP,
  }),
);

// Exhaustion drives every heap until it refuses: alone, in a 1 GiB guest (on a machine with real heaps only
// when asked, since it would take nearly all of that machine's memory).
totals.push(
  await suite('lowmem', {
    here: kernelHere && process.env.DMAHEAP_LOWMEM === '1',
    what: 'memory exhaustion tests (1 GiB guest)',
    vm: () => ({ ...VM_TEST_SETUP, memory: '1G', hugepages: 0 }),
  }),
);

// The CMA tests: a kernel heap with contiguous memory, vivid's dma-contig queue. Debian's x86 kernels have no
// CMA, so the test bed builds one (about 6 minutes on 2 idle cores, once; then cached).
const { kernelCmaHeaps } = await import('../packages/core/dist/index.js');
totals.push(
  await suite('cma', {
    here: kernelHere && kernelCmaHeaps().length > 0,
    what: 'CMA tests (the CMA kernel: Debian kernel sources, tinyconfig + CMA)',
    vm: () => {
      const t0 = Date.now();
      const cached = cmaKernelBuildTime();
      const kernel = ensureCmaKernel();
      console.error(
        cached === undefined
          ? `[test] CMA kernel ${kernel.release} built in ${minutes(Date.now() - t0)}`
          : `[test] CMA kernel ${kernel.release} from the cache (it took ${minutes(cached)} to build)`,
      );
      return { ...VM_CMA_TEST_SETUP, kernel, timeoutMs: 40 * 60_000 };
    },
  }),
);

// arm64: the arm64 test kernel (cross-built once, like the CMA kernel: Debian's arm64 6.12 has no dma-buf heaps),
// in an arm64 guest running the npm registry's arm64 Node 20 and the arm64 prebuild. In npm test a representative
// part (project arm64: native's suites, conformance and a vivid capture on kernelHeap and systemHeap()); with
// DMAHEAP_ARM64_FULL=1 every stock-kernel suite there, and the conformance suite on Debian's 16 KiB-page kernel.
const arm64Full = process.env.DMAHEAP_ARM64_FULL === '1';
const arm64Kernel = () => {
  const t0 = Date.now();
  const cached = cmaKernelBuildTime('arm64');
  const kernel = ensureTestKernel('arm64');
  console.error(
    cached === undefined
      ? `[test] arm64 test kernel ${kernel.release} built in ${minutes(Date.now() - t0)}`
      : `[test] arm64 test kernel ${kernel.release} from the cache (it took ${minutes(cached)} to build)`,
  );
  return { ...VM_ARM64_TEST_SETUP, kernel, timeoutMs: 60 * 60_000 };
};
const onArm64 = process.arch === 'arm64' && kernelHere;
totals.push(await suite('arm64', { here: onArm64, what: 'arm64 tests (native, conformance, vivid)', vm: arm64Kernel }));
if (arm64Full) {
  totals.push(await suite('arm64-full', { project: 'vm', here: onArm64, what: 'every stock-kernel suite on arm64 (DMAHEAP_ARM64_FULL=1)', vm: arm64Kernel }));
  totals.push(
    await suite('arm64-16k', {
      here: false,
      what: "the conformance suite on 16 KiB pages (Debian's arm64-16k kernel)",
      vm: () => ({ ...VM_ARM64_16K_SETUP, timeoutMs: 60 * 60_000 }),
    }),
  );
}

function minutes(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const passed = totals.reduce((n, t) => n + t.passed, 0);
const failed = totals.reduce((n, t) => n + t.failed, 0);
// Each suite with the kernel it ran on (a move of Debian's kernel shows at once), its skips and its VM time.
const part = (label, t) => {
  const extra = [t.kernel, t.skipped ? `${t.skipped} skipped` : '', t.seconds !== undefined ? `${t.seconds} s` : ''].filter(Boolean);
  return `${label} ${t.passed}/${t.passed + t.failed}${extra.length ? ` (${extra.join(', ')})` : ''}`;
};
const labels = ['host', 'kernel', 'noinit', 'lowmem', 'cma', 'arm64', ...(arm64Full ? ['arm64-full', 'arm64-16k'] : [])];
console.error(`[test] ${labels.map((l, i) => part(l, totals[i])).join(', ')}, ${minutes(Date.now() - started)}`);
const failures = totals.flatMap((t) => t.failures ?? []);
if (failures.length > 0) console.error(`[test] failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
const skipped = totals.reduce((n, t) => n + (t.skipped ?? 0), 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
