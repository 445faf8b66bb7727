// `npm test` after set-up: unit tests on the host, kernel tests inside the VM (or directly, where this
// kernel has /dev/dma_heap and /dev/udmabuf), then one line `N passed, N failed` for both together.
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
  // A file that failed to load (syntax error, failed import) has no test results of its own: count it.
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  const failed = r.numFailedTests + brokenFiles + (exitCode !== 0 && r.numFailedTests + brokenFiles === 0 ? 1 : 0);
  return { passed: r.numPassedTests, failed };
}

console.error('[test] host: unit tests');
const host = spawnSync('node', [...vitest, '--project', 'host', ...report('host')], { cwd: root, stdio: 'inherit' });
const totals = [count('host', host.status ?? 1)];

const kernelHere = existsSync('/dev/dma_heap') && existsSync('/dev/udmabuf');
const vmCommand = ['node', ...vitest, '--project', 'vm', ...report('vm')];
if (kernelHere && process.env.DMAHEAP_FORCE_VM !== '1') {
  console.error('[test] kernel tests on this machine (it has /dev/dma_heap and /dev/udmabuf)');
  const r = spawnSync(vmCommand[0], vmCommand.slice(1), { cwd: root, stdio: 'inherit' });
  totals.push(count('vm', r.status ?? 1));
} else {
  console.error("[test] kernel tests inside the VM (this kernel lacks /dev/dma_heap or /dev/udmabuf)");
  const { runInVm, VM_TEST_SETUP } = await import('../tools/vm/dist/index.js');
  const r = await runInVm({ command: vmCommand, cwd: root, ...VM_TEST_SETUP });
  console.error(`[test] VM run: exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(1)} s (${r.accel}); console log ${r.jobDir}/console.log`);
  totals.push(count('vm', r.exitCode));
}

const passed = totals.reduce((n, t) => n + t.passed, 0);
const failed = totals.reduce((n, t) => n + t.failed, 0);
console.error(`[test] host ${totals[0].passed}/${totals[0].passed + totals[0].failed}, kernel ${totals[1].passed}/${totals[1].passed + totals[1].failed}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
