#!/usr/bin/env node
// dmaheap-vm [--module NAME[:PARAMS]]... [--hugepages N] [--user UID:GID] [--memory 2G] [--rw DIR]... -- COMMAND...
import { parseArgs } from 'node:util';
import { runInVm, type ModuleLoad } from './run.js';

const dash = process.argv.indexOf('--');
if (dash < 0 || dash === process.argv.length - 1) {
  process.stderr.write('usage: dmaheap-vm [--module NAME[:PARAMS]] [--hugepages N] [--user UID:GID] [--memory 2G] [--rw DIR] -- COMMAND...\n');
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
  },
});
const modules: ModuleLoad[] = (values.module ?? []).map((m) => {
  const [name, params] = m.split(/:(.*)/s);
  return { name: name!, params: params ?? '' };
});
const user = values.user?.split(':').map(Number);
const result = await runInVm({
  command: process.argv.slice(dash + 1),
  modules,
  ...(values.hugepages ? { hugepages: Number(values.hugepages) } : {}),
  ...(user ? { user: { uid: user[0]!, gid: user[1] ?? user[0]! } } : {}),
  ...(values.memory ? { memory: values.memory } : {}),
  ...(values.rw ? { writable: values.rw } : {}),
});
process.stderr.write(`[vm] exit ${result.exitCode} after ${(result.durationMs / 1000).toFixed(1)} s (${result.accel})\n`);
process.exit(result.exitCode);
