// Where `dmaheap bench` finds the benchmark, and what it says when it cannot run it (FAKE file systems).
import { describe, expect, it } from 'vitest';
import { findCheckout, planBench } from './bench.js';

const BENCH_PKG = JSON.stringify({ name: '@dmaheap/bench' });
function fakeFs(files: Record<string, string>, devices: string[] = []) {
  return { exists: (p: string) => p in files || devices.includes(p), read: (p: string) => files[p]! };
}

describe('bench', () => {
  it('finds the checkout above the working directory by its apps/bench', () => {
    const f = fakeFs({ '/src/dmaheap/apps/bench/package.json': BENCH_PKG, '/src/other/apps/bench/package.json': '{"name":"x"}' });
    expect(findCheckout('/src/dmaheap/packages/cli/dist', f.exists, f.read)).toBe('/src/dmaheap');
    expect(findCheckout('/src/other/deep', f.exists, f.read)).toBeNull();
    expect(findCheckout('/', f.exists, f.read)).toBeNull();
  });

  it('runs where the checkout is built and the kernel has /dev/dma_heap and /dev/udmabuf', () => {
    const f = fakeFs({ '/r/apps/bench/package.json': BENCH_PKG, '/r/apps/bench/dist/cli.js': '' }, ['/dev/dma_heap', '/dev/udmabuf']);
    expect(planBench({ cwd: '/r', here: '/elsewhere', ...f })).toEqual({
      checkout: '/r',
      cli: '/r/apps/bench/dist/cli.js',
      kernelReady: true,
      runnable: true,
      how: 'node /r/apps/bench/dist/cli.js',
    });
  });

  it('says to use npm run bench (the VM) on a kernel without heaps, and where to get it when installed alone', () => {
    const f = fakeFs({ '/r/apps/bench/package.json': BENCH_PKG, '/r/apps/bench/dist/cli.js': '' });
    expect(planBench({ cwd: '/tmp', here: '/r/packages/cli/dist', ...f })).toMatchObject({ runnable: false, how: expect.stringMatching(/^This kernel has no \/dev\/dma_heap\. In \/r, `npm run bench` runs the benchmark inside a VM/) });
    const alone = planBench({ cwd: '/home/u/proj', here: '/home/u/proj/node_modules/@dmaheap/cli/dist', ...fakeFs({}, ['/dev/dma_heap', '/dev/udmabuf']) });
    expect(alone).toMatchObject({ checkout: null, runnable: false, how: expect.stringMatching(/not published with @dmaheap\/cli: it is apps\/bench in the dmaheap repository/) });
    const unbuilt = planBench({ cwd: '/r', here: '/x', ...fakeFs({ '/r/apps/bench/package.json': BENCH_PKG }, ['/dev/dma_heap', '/dev/udmabuf']) });
    expect(unbuilt).toMatchObject({ runnable: false, how: expect.stringMatching(/apps\/bench is not built/) });
  });
});
