// The dmaheap command as users install it (the cli scratch projects the pack test installed from the packed
// tarballs, npm and pnpm, no compiler), against the real kernel in the VM: `npx dmaheap ls --json` lists a
// buffer this test holds, `npx dmaheap doctor --json` finds the heaps and opens the userspace system heap.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelHeap } from '@dmaheap/native';
import { EXAMPLE_INSTALLERS, projectDir } from './examples.js';

describe('npx dmaheap from the packed tarballs', () => {
  for (const installer of EXAMPLE_INSTALLERS) {
    const dir = projectDir('cli', installer);
    const npx = (...args: string[]) =>
      spawnSync('npx', ['--no', 'dmaheap', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', NO_COLOR: '1' } });

    it(`ls --json lists a buffer this process holds (cli installed with ${installer})`, () => {
      expect(existsSync(join(dir, 'node_modules')), `${dir} is installed by pack.test.ts on the host (npm test runs it first)`).toBe(true);
      const heap = kernelHeap('system');
      const buf = heap.allocate(64 * 1024, { name: `installed-${installer}` });
      try {
        const fd = buf.fd;
        const r = npx('ls', '--json', '--pid', String(process.pid));
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

    it(`doctor --json finds the heaps and opens the userspace system heap (cli installed with ${installer})`, () => {
      const r = npx('doctor', '--json');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const d = JSON.parse(r.stdout) as { heaps: { nodes: Array<{ name: string; canOpen: boolean }> }; openHeap: { system: { opens: { backing: string } | null }; loadErrors: string[] } };
      expect(d.heaps.nodes.map((n) => [n.name, n.canOpen])).toEqual([['system', true]]);
      expect(d.openHeap.loadErrors).toEqual([]);
      expect(d.openHeap.system.opens?.backing).toBe('memfd+udmabuf');
    });
  }
});
