// openHeap('system') with the real providers: ours where /dev/udmabuf is usable, the kernel's where it is not
// (an unprivileged user granted only /dev/dma_heap/system, as a udev rule would), and the other way round on request.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { listHeaps, openHeap } from '@dmaheap/core';
import '@dmaheap/system-heap';

const require = createRequire(import.meta.url);
const systemHeapEntry = require.resolve('@dmaheap/system-heap');
const nativeEntry = require.resolve('@dmaheap/native');
const coreEntry = createRequire(nativeEntry).resolve('@dmaheap/core');

describe("openHeap('system') with the real providers", () => {
  it('prefers the userspace system heap where udmabuf works, and gives the kernel heap when asked', () => {
    const listed = listHeaps().filter((h) => h.name === 'system');
    expect(listed.map((h) => [h.provider, h.priority, h.available])).toEqual([
      ['@dmaheap/system-heap', 10, true],
      ['@dmaheap/native', 0, true],
    ]);
    const ours = openHeap('system');
    expect(ours.capabilities.backing).toBe('memfd+udmabuf');
    ours.close();
    const kernel = openHeap(['kernel:system', 'system']);
    expect(kernel.capabilities.backing).toBe('kernel:system');
    const b = kernel.allocate(4096);
    expect(b.info().exporter).toBe('system');
    b.close();
    kernel.close();
  });

  it('falls back to the kernel system heap for a user who may open /dev/dma_heap/system but not /dev/udmabuf', () => {
    // What a udev rule granting the heap to everyone does, in a private mount namespace: other test files,
    // running at the same time, keep seeing the real root-only node.
    const dir = mkdtempSync(join(tmpdir(), 'heaps-'));
    chmodSync(dir, 0o755);
    const { rdev } = statSync('/dev/dma_heap/system');
    const major = (rdev >> 8) & 0xfff;
    const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    execFileSync('mknod', ['-m', '666', join(dir, 'system'), 'c', String(major), String(minor)]);
    const script = `
      const core = await import(${JSON.stringify(coreEntry)});
      await import(${JSON.stringify(nativeEntry)});
      await import(${JSON.stringify(systemHeapEntry)});
      process.setgid(65534);
      process.setuid(65534);
      const listed = core.listHeaps().filter((h) => h.name === 'system').map((h) => [h.provider, h.available, h.reason ?? null]);
      const heap = core.openHeap('system');
      const buf = heap.allocate(8192);
      buf.withCpuAccess('write', (v) => v.fill(3));
      console.log(JSON.stringify({ listed, backing: heap.capabilities.backing, exporter: buf.info().exporter }));
      buf.close();
      heap.close();
    `;
    try {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "$HEAPS" /dev/dma_heap && exec "$NODE" --input-type=module -e "$SCRIPT"`], {
        encoding: 'utf8',
        env: { ...process.env, HEAPS: dir, NODE: process.execPath, SCRIPT: script },
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.listed).toEqual([
        ['@dmaheap/system-heap', false, 'no permission to open /dev/udmabuf read-write'],
        ['@dmaheap/native', true, null],
      ]);
      expect(out).toMatchObject({ backing: 'kernel:system', exporter: 'system' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(statSync('/dev/dma_heap/system').mode & 0o777).toBe(0o600);
  });
});
