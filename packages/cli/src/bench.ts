// `dmaheap bench`: the benchmark lives in the dmaheap repository (apps/bench, not published). In a checkout on
// a kernel with /dev/dma_heap and /dev/udmabuf it runs it here; otherwise it says how to run it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BenchPlan {
  /** The checkout holding apps/bench, if one was found. */
  checkout: string | null;
  /** apps/bench/dist/cli.js, when built. */
  cli: string | null;
  /** This kernel has what the benchmark needs. */
  kernelReady: boolean;
  /** It can run here and now. */
  runnable: boolean;
  /** What to do instead, when not runnable. */
  how: string;
}

/** The nearest directory at or above `from` that holds the dmaheap repository's apps/bench. */
export function findCheckout(from: string, exists: (p: string) => boolean = existsSync, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'apps', 'bench', 'package.json');
    if (exists(pkg)) {
      try {
        if ((JSON.parse(read(pkg)) as { name?: string }).name === '@dmaheap/bench') return dir;
      } catch {
        // not ours
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

export function planBench(options: { cwd: string; here: string; exists?: (p: string) => boolean; read?: (p: string) => string }): BenchPlan {
  const exists = options.exists ?? existsSync;
  const checkout = findCheckout(options.cwd, exists, options.read) ?? findCheckout(options.here, exists, options.read);
  const kernelReady = exists('/dev/dma_heap') && exists('/dev/udmabuf');
  const cli = checkout && exists(join(checkout, 'apps', 'bench', 'dist', 'cli.js')) ? join(checkout, 'apps', 'bench', 'dist', 'cli.js') : null;
  let how: string;
  if (!checkout) {
    how =
      'The benchmark is not published with @dmaheap/cli: it is apps/bench in the dmaheap repository. In a checkout, ' +
      '`npm run bench` sets up and runs it (here when the kernel has /dev/dma_heap and /dev/udmabuf, else inside a VM of Debian\'s 6.12 kernel).';
  } else if (!kernelReady) {
    how = `This kernel has no ${exists('/dev/dma_heap') ? '/dev/udmabuf' : '/dev/dma_heap'}. In ${checkout}, \`npm run bench\` runs the benchmark inside a VM of Debian's 6.12 kernel.`;
  } else if (!cli) {
    how = `apps/bench is not built: in ${checkout}, run \`npm run bench\` (it sets up and builds first), or \`pnpm build\` and then \`dmaheap bench\`.`;
  } else {
    how = `node ${cli}`;
  }
  return { checkout, cli, kernelReady, runnable: kernelReady && cli !== null, how };
}

/** Runs the benchmark with `args`, its output on this terminal; its exit code. */
export function runBench(plan: BenchPlan, args: readonly string[]): number {
  const r = spawnSync(process.execPath, [plan.cli!, ...args], { cwd: plan.checkout!, stdio: 'inherit' });
  return r.status ?? 1;
}
