// `dmaheap bench` where the kernel has /dev/dma_heap and /dev/udmabuf (the VM) and the checkout is built: it
// runs apps/bench itself, passing on what follows `--`.
// Run: node tools/vm/dist/cli.js --test-setup -- node node_modules/vitest/vitest.mjs run --project vm packages/cli/src/bench.vm.test.ts
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmaheap } from './vm.test-helpers.js';

describe('dmaheap bench (a checkout, on a kernel with heaps)', () => {
  it('lists the benchmark\'s heaps (bench -- --list)', async () => {
    const r = await dmaheap(['bench', '--', '--list']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^dmaheap bench: running .*\/apps\/bench\/dist\/cli\.js in /);
    expect(r.stdout).toMatch(/^kernel +kernelHeap\('system'\)/m);
  });

  it('runs the seed loop on the kernel heap and writes its JSON', async () => {
    const json = join(import.meta.dirname, '..', '.build', `bench-${process.pid}.json`);
    rmSync(json, { force: true });
    // --rounds 0: the seed loop once, as the seed ran it (the default's interleaved rounds make 50 calls per round).
    const r = await dmaheap(['bench', '--', '--heaps', 'kernel', '--sizes', '4K', '--iterations', '50', '--rounds', '0', '--scenarios', 'seed', '--json', json, '--html', json.replace(/json$/, 'html')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dmabuf heap: alloc 4096 bytes 50 times in \d+ ns/);
    expect(existsSync(json)).toBe(true);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ scenario: string; variant: string }> };
    expect(report.results.some((x) => x.scenario === 'seed' && x.variant === 'kernel')).toBe(true);
  });
});
