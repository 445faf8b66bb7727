// Buffers dropped without close() are closed by the FinalizationRegistry and reported (with the allocation
// stack when asked for). Run in a child with --expose-gc so collection can be forced.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const native = require.resolve('@dmaheap/native');
const core = createRequire(native).resolve('@dmaheap/core');

function runChild(body: string): { stdout: string; stderr: string; status: number | null } {
  const script = `
    const core = await import(${JSON.stringify(core)});
    const native = await import(${JSON.stringify(native)});
    const gcAndWait = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); } };
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('leaked buffers', () => {
  it('are closed by the finalizer and reported with their name and allocation stack', () => {
    const r = runChild(`
      core.trackAllocations(true);
      const leaks = [];
      core.setLeakHandler((leak) => leaks.push(leak));
      const heap = native.kernelHeap('system');
      const before = native.openFdCount();
      (function leakSome() { for (let i = 0; i < 10; i++) heap.allocate(65536, { name: 'leaky-' + i }); })();
      const during = native.openFdCount();
      await gcAndWait();
      console.log(JSON.stringify({ before, during, after: native.openFdCount(), leaks, stats: heap.stats() }));
    `);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.during).toBe(out.before + 10);
    expect(out.after).toBe(out.before);
    expect(out.leaks).toHaveLength(10);
    expect(out.leaks.map((l: { name: string }) => l.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `leaky-${i}`).sort());
    expect(out.leaks[0]).toMatchObject({ heap: 'system', size: 65536 });
    expect(out.leaks[0].stack).toMatch(/leakSome/);
    expect(out.stats).toMatchObject({ liveBuffers: 0, liveBytes: 0 });
  });

  it('by default become a process warning that says how to find where they were allocated', () => {
    const r = runChild(`
      const heap = native.kernelHeap('system');
      heap.allocate(4096, { name: 'forgotten' });
      await gcAndWait();
    `);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/DMAHEAP_LEAKED_BUFFER/);
    expect(r.stderr).toMatch(/"forgotten" of 4096 bytes from heap "system" was garbage-collected without close\(\)/);
    expect(r.stderr).toMatch(/DMAHEAP_TRACE=1/);
  });

  it('a closed buffer is not reported, and close() detaches the views its caller kept', () => {
    const r = runChild(`
      const leaks = [];
      core.setLeakHandler((leak) => leaks.push(leak));
      const heap = native.kernelHeap('system');
      heap.allocate(4096).close();
      let view;
      (() => { const b = heap.allocate(4096); view = b.map(); view.fill(5); b.close(); })();
      await gcAndWait();
      console.log(JSON.stringify({ leaks: leaks.length, len: view.length }));
    `);
    expect(r.status, r.stderr).toBe(0);
    // close() unmaps: the view kept by the caller is detached, not dangling.
    expect(JSON.parse(r.stdout)).toEqual({ leaks: 0, len: 0 });
  });
});
