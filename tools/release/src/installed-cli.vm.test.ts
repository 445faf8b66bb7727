// The dmaheap command as users install it (the cli scratch projects the pack test installed from the packed
// tarballs, npm and pnpm, no compiler), against the real kernel in the VM: `npx dmaheap ls --json` lists a
// buffer this test holds; the installed bin's `doctor --json` finds the heaps and opens the userspace system
// heap (run without npx: npm itself takes about a minute to start under TCG).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelHeap } from '@dmaheap/native';
import { EXAMPLE_INSTALLERS, projectDir } from './examples.js';

describe('npx dmaheap from the packed tarballs', () => {
  for (const installer of EXAMPLE_INSTALLERS) {
    const dir = projectDir('cli', installer);
    /** Runs a command there without blocking the test worker (a blocked worker misses vitest's messages). */
    const run = (command: string, args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(command, args, { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });

    it(`npx dmaheap ls --json lists a buffer this process holds (cli installed with ${installer})`, async () => {
      expect(existsSync(join(dir, 'node_modules')), `${dir} is installed by pack.test.ts on the host (npm test runs it first)`).toBe(true);
      const heap = kernelHeap('system');
      const buf = heap.allocate(64 * 1024, { name: `installed-${installer}` });
      try {
        const fd = buf.fd;
        const r = await run('npx', ['--no', 'dmaheap', 'ls', '--json', '--pid', String(process.pid)]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const s = JSON.parse(r.stdout) as { processes: Array<{ pid: number; buffers: Array<{ name: string; size: number; exporter: string; fds: number[] }> }> };
        expect(s.processes).toHaveLength(1);
        expect(s.processes[0]!.buffers.find((b) => b.name === `installed-${installer}`)).toMatchObject({ size: 64 * 1024, exporter: 'system', fds: [fd] });
      } finally {
        buf.close();
        heap.close();
      }
    });

    it(`dmaheap doctor --json finds the heaps and opens the userspace system heap (cli installed with ${installer})`, async () => {
      const r = await run(join(dir, 'node_modules', '.bin', 'dmaheap'), ['doctor', '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const d = JSON.parse(r.stdout) as { heaps: { nodes: Array<{ name: string; canOpen: boolean }> }; openHeap: { system: { opens: { backing: string } | null }; loadErrors: string[] } };
      // Every heap node opens for root; the stock kernel has only `system`, the arm64 test kernel CMA's `reserved` too.
      const nodes = d.heaps.nodes.map((n) => [n.name, n.canOpen]);
      expect(nodes).toContainEqual(['system', true]);
      expect(nodes.every(([, canOpen]) => canOpen)).toBe(true);
      expect(d.openHeap.loadErrors).toEqual([]);
      expect(d.openHeap.system.opens?.backing).toBe('memfd+udmabuf');
    });
  }
});
