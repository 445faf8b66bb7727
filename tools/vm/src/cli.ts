#!/usr/bin/env node
// dmaheap-vm [--kernel stock|cma|arm64|arm64-16k] [--test-setup|--cma-setup] [--module NAME[:PARAMS]]... [--hugepages N] [--user UID:GID] [--memory 2G]
//            [--cmdline ARGS] [--rw DIR]... [--timeout MINUTES] -- COMMAND...
import { parseArgs } from 'node:util';
import { runInVm, type ModuleLoad, type RunOptions } from './run.js';
import { VM_CMA_TEST_SETUP, VM_TEST_SETUP } from './setup.js';

const dash = process.argv.indexOf('--');
if (dash < 0 || dash === process.argv.length - 1) {
  process.stderr.write(
    'usage: dmaheap-vm [--kernel stock|cma|arm64|arm64-16k] [--test-setup|--cma-setup] [--module NAME[:PARAMS]] [--hugepages N] [--user UID:GID] [--memory 2G] [--cmdline ARGS] [--rw DIR] [--timeout MINUTES] -- COMMAND...\n' +
      '  --test-setup: the stock kernel booted as the kernel tests expect (VM_TEST_SETUP: vgem, vivid, huge pages)\n' +
      '  --cma-setup: the CMA kernel booted as the CMA tests expect (VM_CMA_TEST_SETUP)\n',
  );
  process.exit(2);
}
const { values } = parseArgs({
  args: process.argv.slice(2, dash),
  options: {
    module: { type: 'string', multiple: true },
    hugepages: { type: 'string' },
    user: { type: 'string' },
    memory: { type: 'string' },
    rw: { type: 'string', multiple: true },
    kernel: { type: 'string' },
    cmdline: { type: 'string' },
    'test-setup': { type: 'boolean' },
    timeout: { type: 'string' },
    'cma-setup': { type: 'boolean' },
  },
});
const KERNELS = ['stock', 'cma', 'arm64', 'arm64-16k'] as const;
if (values.kernel !== undefined && !(KERNELS as readonly string[]).includes(values.kernel)) {
  process.stderr.write(`--kernel is one of ${KERNELS.join(', ')}, got ${values.kernel}\n`);
  process.exit(2);
}
const base: Partial<RunOptions> = values['cma-setup'] ? { ...VM_CMA_TEST_SETUP } : values['test-setup'] ? { ...VM_TEST_SETUP } : {};
const modules: ModuleLoad[] = (values.module ?? []).map((m) => {
  const [name, params] = m.split(/:(.*)/s);
  return { name: name!, params: params ?? '' };
});
const user = values.user?.split(':').map(Number);
const result = await runInVm({
  ...base,
  command: process.argv.slice(dash + 1),
  ...(modules.length ? { modules } : {}),
  ...(values.kernel ? { kernel: values.kernel as (typeof KERNELS)[number] } : {}),
  ...(values.cmdline ? { cmdline: [base.cmdline, values.cmdline].filter(Boolean).join(' ') } : {}),
  ...(values.hugepages ? { hugepages: Number(values.hugepages) } : {}),
  ...(user ? { user: { uid: user[0]!, gid: user[1] ?? user[0]! } } : {}),
  ...(values.memory ? { memory: values.memory } : {}),
  ...(values.rw ? { writable: values.rw } : {}),
  ...(values.timeout ? { timeoutMs: Number(values.timeout) * 60_000 } : {}),
});
process.stderr.write(`[vm] exit ${result.exitCode} after ${(result.durationMs / 1000).toFixed(1)} s (${result.accel})\n`);
process.exit(result.exitCode);
