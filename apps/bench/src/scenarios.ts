// What the benchmark runs: each scenario, on which heaps and sizes, and how one run of it is measured.
import type { Heap } from '@dmaheap/core';
import * as native from '@dmaheap/native';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeFd, socketPair } from '@dmaheap/native';
import { FdChannel, sendBuffers } from '@dmaheap/share';
import {
  freshUdmabufSamples,
  MIX_LIVE,
  MIX_MEAN_SIZE,
  MIX_PATTERN,
  mixSamples,
  seedInCSamples,
  seedSamples,
  shareSamples,
  syncSamples,
  toResult,
  touchSamples,
  warmUp,
  type LoopOptions,
  type Result,
  type Consumer,
  type Samples,
  type Scenario,
} from './measure.js';
import { MemoryHog } from './pressure.js';
import type { BenchReport } from './report.js';
import { VARIANTS, type Variant, type VariantKind } from './variants.js';
import { mergeSamples, WorkerGang } from './workers.js';

/** A scenario as chosen on the command line (`sync` gives two scenario values). */
export interface ScenarioDef {
  name: string;
  emits: Scenario[];
  /** The variant kinds it can run. */
  kinds: VariantKind[];
  /** Its heaps when `--heaps` is not given. */
  defaultHeaps: 'all' | string[];
  /** Sizes it runs at; undefined: the `--sizes` (for scenarios other than seed, up to 8 MiB of them under --quick). */
  sizes?: number[];
  setup?(ctx: RunContext): Promise<void>;
  teardown?(ctx: RunContext): Promise<void>;
  run(ctx: RunContext, task: Task): Promise<Samples>;
}

export interface Task {
  def: ScenarioDef;
  scenario: Scenario;
  variant: Variant;
  size: number;
}

export interface RunContext {
  loop: LoopOptions;
  /** The seed loop's sizes, and the other scenarios' (fewer under --quick). */
  sizes: number[];
  otherSizes: number[];
  info: BenchReport['scenarioInfo'];
  gang?: WorkerGang;
  hog?: MemoryHog;
  /** The `share` scenario's consumer process. */
  consumer?: { child: ChildProcess; channel: FdChannel; consumer: Consumer };
  /** The heap of the current scenario and variant: opened once, used for every size, closed after. */
  heap?: { variant: Variant; heap: Heap };
}

/** The variant's heap, opened on first use within a scenario (as the seed's loop opens its heap once). */
function heapOf(ctx: RunContext, v: Variant): Heap {
  if (ctx.heap?.variant !== v) {
    closeHeap(ctx);
    ctx.heap = { variant: v, heap: v.open!() };
  }
  return ctx.heap.heap;
}

function closeHeap(ctx: RunContext): void {
  const open = ctx.heap;
  delete ctx.heap;
  open?.heap.close();
}

/**
 * MemAvailable the heaps of @dmaheap/native keep free (their MemoryGuard refuses allocations that would go
 * below it), or 0 where that package has no such reserve.
 */
function heapReserveBytes(): number {
  const reserve = (native as Record<string, unknown>)['DEFAULT_RESERVE'];
  return typeof reserve === 'number' ? reserve : 0;
}

/** The heaps most worth comparing beyond the seed loop: the reference, systemHeap() as shipped, the pools. */
const MAIN_HEAPS = ['kernel', 'skipsync', 'pool-kernel', 'pool-system', 'cma-heap', 'pool-cma'];
export const WORKER_THREADS = 2;

export const SCENARIOS: ScenarioDef[] = [
  {
    name: 'seed',
    emits: ['seed'],
    kinds: ['heap', 'c-loop', 'fresh-udmabuf'],
    defaultHeaps: 'all',
    async run(ctx, t) {
      if (t.variant.kind === 'c-loop') return seedInCSamples(t.size, ctx.loop);
      if (t.variant.kind === 'fresh-udmabuf') return freshUdmabufSamples(t.size, ctx.loop);
      return seedSamples(heapOf(ctx, t.variant), t.size, ctx.loop, { cold: t.variant.cold === true });
    },
  },
  {
    name: 'mix',
    emits: ['mix'],
    kinds: ['heap'],
    defaultHeaps: MAIN_HEAPS,
    sizes: [MIX_MEAN_SIZE],
    async setup(ctx) {
      ctx.info.mix = { pattern: [...MIX_PATTERN], live: MIX_LIVE };
    },
    run: async (ctx, t) => mixSamples(heapOf(ctx, t.variant), ctx.loop),
  },
  {
    name: 'touch',
    emits: ['touch'],
    kinds: ['heap'],
    defaultHeaps: MAIN_HEAPS,
    run: async (ctx, t) => touchSamples(heapOf(ctx, t.variant), t.size, ctx.loop),
  },
  {
    name: 'sync',
    emits: ['sync-private', 'sync-shared'],
    kinds: ['heap'],
    defaultHeaps: ['kernel', 'pagepool', 'skipsync', 'pool-kernel', 'pool-system', 'cma-heap'],
    run: async (ctx, t) => syncSamples(heapOf(ctx, t.variant), t.size, t.scenario === 'sync-shared', ctx.loop),
  },
  {
    name: 'pressure',
    emits: ['pressure'],
    kinds: ['heap'],
    defaultHeaps: ['kernel', 'skipsync', 'system-cold', 'pool-kernel', 'pool-system'],
    async setup(ctx) {
      // Leave just what the heaps keep in reserve (they refuse allocations below it rather than let the OOM
      // killer in), room for two of the largest buffers and 64 MiB of slack: the kernel then has to reclaim (page
      // cache, the pools' memory) for what the loop allocates, which is the pressure to measure under. With
      // 24 MiB of slack a pool that still held its smaller sizes was refused at 32 MiB in one full run.
      ctx.hog = await MemoryHog.start(heapReserveBytes() + 64 * 2 ** 20 + 2 * Math.max(...ctx.otherSizes));
    },
    async teardown(ctx) {
      if (ctx.hog) ctx.info.pressure = await ctx.hog.stop();
      delete ctx.hog;
    },
    run: (ctx, t) => seedSamples(heapOf(ctx, t.variant), t.size, ctx.loop, { cold: t.variant.cold === true, yieldEvery: 1 }),
  },
  {
    name: 'workers',
    emits: ['workers'],
    kinds: ['heap', 'c-loop'],
    defaultHeaps: ['kernel', 'kernel-c', 'skipsync', 'pool-kernel', 'pool-system'],
    async setup(ctx) {
      ctx.gang ??= new WorkerGang(WORKER_THREADS);
      ctx.info.workers = { threads: WORKER_THREADS };
    },
    async teardown(ctx) {
      await ctx.gang?.close();
      delete ctx.gang;
    },
    async run(ctx, t) {
      try {
        return mergeSamples(await ctx.gang!.run(t.variant.id, t.size, ctx.loop));
      } catch (err) {
        // A thread that failed may still be busy: start the next run with fresh ones.
        await ctx.gang!.close();
        ctx.gang = new WorkerGang(WORKER_THREADS);
        throw err;
      }
    },
  },
  {
    name: 'share',
    emits: ['share'],
    kinds: ['heap'],
    defaultHeaps: ['kernel', 'skipsync', 'pool-kernel', 'pool-system'],
    async setup(ctx) {
      ctx.consumer = startConsumer();
    },
    async teardown(ctx) {
      const c = ctx.consumer;
      delete ctx.consumer;
      if (!c) return;
      c.channel.close();
      await new Promise((resolve) => (c.child.exitCode !== null ? resolve(null) : c.child.once('exit', resolve)));
    },
    run: (ctx, t) => shareSamples(heapOf(ctx, t.variant), t.size, ctx.loop, ctx.consumer!.consumer),
  },
];

/** Starts the consumer process of the `share` scenario (dist/share-consumer.js) on a socket pair. */
function startConsumer(): NonNullable<RunContext['consumer']> {
  const [ours, theirs] = socketPair('stream');
  const child = spawn(process.execPath, [fileURLToPath(new URL('./share-consumer.js', import.meta.url))], { stdio: ['ignore', 'inherit', 'inherit', theirs] });
  closeFd(theirs);
  const channel = FdChannel.fromFd(ours);
  return {
    child,
    channel,
    consumer: {
      async send(buffer) {
        await sendBuffers(channel, [{ buffer }]);
        return (await channel.receive()).data[0]!;
      },
    },
  };
}

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/** The runs, in order: by scenario, then heap, then size; with the heaps that cannot run here, and why. */
export function plan(
  scenarios: string[],
  heaps: string[] | undefined,
  sizes: number[],
  otherSizes: number[] = sizes,
): { tasks: Task[]; skipped: Array<{ variant: string; label: string; reason: string }> } {
  const tasks: Task[] = [];
  const skipped = new Map<string, { variant: string; label: string; reason: string }>();
  for (const def of SCENARIOS.filter((s) => scenarios.includes(s.name))) {
    const wanted = heaps ?? (def.defaultHeaps === 'all' ? VARIANTS.map((v) => v.id) : def.defaultHeaps);
    for (const v of VARIANTS.filter((x) => wanted.includes(x.id) && def.kinds.includes(x.kind))) {
      const reason = v.skip();
      if (reason) {
        skipped.set(v.id, { variant: v.id, label: v.label, reason });
        continue;
      }
      for (const scenario of def.emits) {
        for (const size of def.sizes ?? (def.name === 'seed' ? sizes : otherSizes)) tasks.push({ def, scenario, variant: v, size });
      }
    }
  }
  return { tasks, skipped: [...skipped.values()] };
}

export interface Failure {
  scenario: Scenario;
  variant: string;
  size: number;
  error: string;
}

/**
 * Runs the tasks in order, each scenario's set-up before its first task and its tear-down after its last. A run
 * that throws (a heap refusing an allocation under memory pressure, say) is recorded as a failure and the
 * others go on; a set-up that throws ends the benchmark.
 */
export async function runTasks(
  tasks: Task[],
  ctx: RunContext,
  hooks: { before?(t: Task): void; after?(t: Task, r: Result): void; failed?(t: Task, f: Failure): void },
): Promise<{ results: Result[]; failures: Failure[] }> {
  const results: Result[] = [];
  const failures: Failure[] = [];
  let current: ScenarioDef | undefined;
  // The reference runs first: warm up the JavaScript paths every heap shares (untimed) so that its first run
  // does not pay for the JIT compiler on everyone's behalf.
  const kernel = tasks.find((t) => t.variant.id === 'kernel')?.variant;
  if (kernel) {
    const heap = kernel.open!();
    try {
      warmUp({ ...ctx.loop, warmup: 1000, maxMs: 2 * Math.max(ctx.loop.maxMs, 100) }, () => heap.allocate(4096).close());
    } finally {
      heap.close();
    }
  }
  try {
    for (const t of tasks) {
      if (t.def !== current) {
        closeHeap(ctx);
        await current?.teardown?.(ctx);
        current = t.def;
        await current.setup?.(ctx);
      }
      hooks.before?.(t);
      let samples: Samples;
      try {
        samples = await t.def.run(ctx, t);
      } catch (err) {
        closeHeap(ctx); // its state is unknown now: the next size starts from a fresh heap
        const f: Failure = { scenario: t.scenario, variant: t.variant.id, size: t.size, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
        failures.push(f);
        hooks.failed?.(t, f);
        continue;
      }
      const threads = t.scenario === 'workers' ? WORKER_THREADS : 1;
      const r = toResult(t.variant, t.scenario, t.size, ctx.loop.iterations * threads, samples);
      if (threads > 1) r.workers = threads;
      results.push(r);
      hooks.after?.(t, r);
    }
  } finally {
    closeHeap(ctx);
    await current?.teardown?.(ctx);
    await ctx.gang?.close();
    delete ctx.gang;
  }
  return { results, failures };
}
