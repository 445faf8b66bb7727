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
  seedInCPerCall,
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
import { countersSince, inTestBed, MemoryHog, poolCounters, startCgroupThrash, type PoolCounters, type PoolRelief, type PressureSource } from './pressure.js';
import type { BenchReport } from './report.js';
import { concatSamples, referenceAround, roundMeans, roundNs, roundOrder, sandwiched, type Turn } from './rounds.js';
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
  /** Seed loop in rounds: 0 is the untimed warm-up round, 1..rounds the timed ones. */
  round?: number;
  rounds?: number;
  /** The last turn at its size: every heap's rounds at that size become results after it. */
  endsSize?: boolean;
}

/** The seed loop's interleaved rounds (see rounds.ts). */
export interface RoundOptions {
  /** Timed rounds, after one untimed warm-up round. */
  rounds: number;
  /** A heap's turn in a round stops after this long, once it made `minIterations` calls... */
  roundMs: number;
  minIterations: number;
  /** ...or after this many calls. */
  iterations: number;
}

/** The loop options of one heap's turn in a round: no warm-up of its own (the warm-up round did that). */
export function roundLoop(r: RoundOptions): LoopOptions {
  return { iterations: r.iterations, maxMs: r.roundMs, warmup: 0, minIterations: r.minIterations };
}

/** What a task is expected to take before it ran, ms (its time cap): the progress bar's first estimate. */
export function estimateMs(ctx: Pick<RunContext, 'loop' | 'rounds' | 'pressureMs'>, t: Task): number {
  if (t.round !== undefined && ctx.rounds) return ctx.rounds.roundMs;
  if (t.scenario === 'pressure') return Math.max(ctx.loop.maxMs, ctx.pressureMs ?? 0);
  return ctx.loop.maxMs;
}

/** The heap every ratio is to, and whose turns surround every other heap's in the seed loop's rounds. */
export const REFERENCE = 'kernel';

/** The key a task's time is remembered under: a heap at a size in a scenario (the same in every round). */
export const taskKey = (t: Pick<Task, 'scenario' | 'size'> & { variant: { id: string } }) => `${t.scenario}|${t.variant.id}|${t.size}`;

export interface RunContext {
  loop: LoopOptions;
  /** The seed loop in interleaved rounds (absent: one run per heap and size, as the other scenarios). */
  rounds?: RoundOptions;
  /** The pressure scenario's runs last at least this long, ms, so that the pools' PSI monitors (one sample a second) see them. */
  pressureMs?: number;
  /** The seed loop's sizes, and the other scenarios' (fewer under --quick). */
  sizes: number[];
  otherSizes: number[];
  info: BenchReport['scenarioInfo'];
  gang?: WorkerGang;
  pressure?: PressureSource;
  /** What the pools gave back, counted from each heap's opening to its closing (set when the heaps close). */
  relief?: PoolRelief[];
  /** The `share` scenario's consumer process. */
  consumer?: { child: ChildProcess; channel: FdChannel; consumer: Consumer };
  /**
   * The heaps of the current scenario: each opened on first use, used for every size (and round), closed when
   * the scenario ends. Interleaved rounds need them all open at once, so that pools stay warm between turns.
   */
  heaps?: Map<Variant, { heap: Heap; counters: PoolCounters[] }>;
}

function countersOf(heap: Heap): PoolCounters[] {
  return poolCounters(heap.stats() as unknown as Record<string, unknown>);
}

/** The variant's heap, opened on first use within a scenario (as the seed's loop opens its heap once). */
function heapOf(ctx: RunContext, v: Variant): Heap {
  ctx.heaps ??= new Map();
  let open = ctx.heaps.get(v);
  if (!open) {
    const heap = v.open!();
    open = { heap, counters: countersOf(heap) };
    ctx.heaps.set(v, open);
  }
  return open.heap;
}

/** Closes one variant's heap (its state is unknown after a failure), or all of them; notes what their pools gave back. */
function closeHeaps(ctx: RunContext, only?: Variant): void {
  for (const [v, open] of [...(ctx.heaps ?? [])]) {
    if (only && v !== only) continue;
    ctx.heaps!.delete(v);
    try {
      const levels = countersSince(open.counters, countersOf(open.heap));
      if (levels.length) (ctx.relief ??= []).push({ variant: v.id, label: v.label, levels });
    } finally {
      open.heap.close();
    }
  }
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
      const loop = t.round !== undefined && ctx.rounds ? roundLoop(ctx.rounds) : ctx.loop;
      if (t.variant.kind === 'c-loop') return t.round !== undefined ? seedInCPerCall(t.size, loop) : seedInCSamples(t.size, loop);
      if (t.variant.kind === 'fresh-udmabuf') return freshUdmabufSamples(t.size, loop);
      return seedSamples(heapOf(ctx, t.variant), t.size, loop, { cold: t.variant.cold === true });
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
      delete ctx.relief;
      if (inTestBed()) {
        // Real reclaim in a memory cgroup of its own (see pressure.ts): PSI counts it, and the pools' shrinkers
        // (which read the system-wide /proc/pressure/memory) act on it.
        ctx.pressure = await startCgroupThrash();
        return;
      }
      // Elsewhere: leave just what the heaps keep in reserve (they refuse allocations below it rather than let
      // the OOM killer in), room for two of the largest buffers and 64 MiB of slack: the kernel then has to reclaim
      // (page cache, the pools' memory) for what the loop allocates. With 24 MiB of slack a pool that still held
      // its smaller sizes was refused at 32 MiB in one full run.
      ctx.pressure = await MemoryHog.start(heapReserveBytes() + 64 * 2 ** 20 + 2 * Math.max(...ctx.otherSizes));
    },
    async teardown(ctx) {
      const pools = ctx.relief ?? [];
      delete ctx.relief; // the heaps of later scenarios are not this one's
      if (ctx.pressure) ctx.info.pressure = { ...(await ctx.pressure.stop()), pools };
      delete ctx.pressure;
    },
    run: (ctx, t) =>
      seedSamples(heapOf(ctx, t.variant), t.size, { ...ctx.loop, maxMs: Math.max(ctx.loop.maxMs, ctx.pressureMs ?? 0) }, { cold: t.variant.cold === true, yieldEvery: 1 }),
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

/**
 * The runs, in order: by scenario, then heap, then size; with the heaps that cannot run here, and why. With
 * `rounds`, the seed loop runs by size, then round (0: the warm-up), then heap in the round's order, with the
 * kernel heap's reference turn before each heap and after the last (see rounds.ts).
 */
export function plan(
  scenarios: string[],
  heaps: string[] | undefined,
  sizes: number[],
  otherSizes: number[] = sizes,
  rounds = 0,
): { tasks: Task[]; skipped: Array<{ variant: string; label: string; reason: string }> } {
  const tasks: Task[] = [];
  const skipped = new Map<string, { variant: string; label: string; reason: string }>();
  for (const def of SCENARIOS.filter((s) => scenarios.includes(s.name))) {
    const wanted = heaps ?? (def.defaultHeaps === 'all' ? VARIANTS.map((v) => v.id) : def.defaultHeaps);
    const runnable: Variant[] = [];
    for (const v of VARIANTS.filter((x) => wanted.includes(x.id) && def.kinds.includes(x.kind))) {
      const reason = v.skip();
      if (reason) skipped.set(v.id, { variant: v.id, label: v.label, reason });
      else runnable.push(v);
    }
    if (def.name === 'seed' && rounds > 0) {
      const reference = runnable.find((v) => v.id === REFERENCE);
      const others = runnable.filter((v) => v !== reference);
      for (const size of sizes) {
        for (let round = 0; round <= rounds; round++) {
          const order = sandwiched(roundOrder(others, round), reference);
          order.forEach((v, i) => {
            const endsSize = round === rounds && i === order.length - 1;
            tasks.push({ def, scenario: 'seed', variant: v, size, round, rounds, ...(endsSize ? { endsSize } : {}) });
          });
        }
      }
      continue;
    }
    for (const v of runnable) {
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

/** What runTasks tells its caller as it goes. */
export interface RunHooks {
  before?(t: Task): void;
  /** A task is done. */
  done?(t: Task, ms: number): void;
  /** A result is complete: a single run's, or a heap's rounds at a size once the size's last turn ran. */
  result?(r: Result): void;
  failed?(t: Task, f: Failure): void;
  /** A later round of a heap and size that failed before: not run. */
  skipped?(t: Task): void;
}

/**
 * Runs the tasks in order, each scenario's set-up before its first task and its tear-down after its last. A run
 * that throws (a heap refusing an allocation under memory pressure, say) is recorded as a failure and the
 * others go on (in rounds, that heap's later rounds at that size are left out); a set-up that throws ends the
 * benchmark. A heap's rounds at a size become one result once the size's last turn ran: calls and times summed
 * over the timed rounds, with each round's ns/call in `rounds` and the reference's around each in `reference`.
 */
export async function runTasks(tasks: Task[], ctx: RunContext, hooks: RunHooks = {}): Promise<{ results: Result[]; failures: Failure[] }> {
  const results: Result[] = [];
  const failures: Failure[] = [];
  /** Each heap's timed turns at the current size, with its task. */
  const inRounds = new Map<string, { task: Task; got: Samples[] }>();
  /** The timed turns at the current size, in the order they ran. */
  let turns: Turn[] = [];
  const failed = new Set<string>();
  const endSize = (t: Task) => {
    const around = referenceAround(turns, taskKey({ ...t, variant: { id: REFERENCE } }));
    const ran = turns;
    turns = [];
    for (const [key, { task, got }] of inRounds) {
      inRounds.delete(key);
      const r = toResult(task.variant, task.scenario, task.size, ctx.rounds!.iterations * got.length, concatSamples(got));
      const mine = ran.filter((x) => x.key === key);
      r.rounds = mine.map((x) => x.ns);
      r.roundMeans = mine.map((x) => x.mean);
      const ref = around.get(key);
      if (ref && ref.ns.length === got.length) r.reference = { rounds: ref.ns, means: ref.means };
      results.push(r);
      hooks.result?.(r);
    }
  };
  let current: ScenarioDef | undefined;
  // Warm up the JavaScript paths every heap shares (untimed), so that the first run does not pay for the JIT
  // compiler on everyone's behalf.
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
        closeHeaps(ctx);
        await current?.teardown?.(ctx);
        current = t.def;
        await current.setup?.(ctx);
      }
      const key = taskKey(t);
      if (failed.has(key)) {
        hooks.skipped?.(t);
        if (t.endsSize) endSize(t);
        continue;
      }
      hooks.before?.(t);
      const t0 = Date.now();
      let samples: Samples;
      try {
        samples = await t.def.run(ctx, t);
      } catch (err) {
        closeHeaps(ctx, t.variant); // its state is unknown now: the next run starts from a fresh heap
        const f: Failure = { scenario: t.scenario, variant: t.variant.id, size: t.size, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
        failures.push(f);
        failed.add(key);
        inRounds.delete(key);
        hooks.failed?.(t, f);
        if (t.endsSize) endSize(t);
        continue;
      }
      const ms = Date.now() - t0;
      if (t.round !== undefined && t.rounds !== undefined) {
        if (t.round > 0) {
          // (round 0 is the warm-up: not timed)
          const entry = inRounds.get(key) ?? { task: t, got: [] };
          entry.got.push(samples);
          inRounds.set(key, entry);
          turns.push({ key, ns: roundNs([samples])[0]!, mean: roundMeans([samples])[0]! });
        }
        hooks.done?.(t, ms);
        if (t.endsSize) endSize(t);
        continue;
      }
      const threads = t.scenario === 'workers' ? WORKER_THREADS : 1;
      const r = toResult(t.variant, t.scenario, t.size, ctx.loop.iterations * threads, samples);
      if (threads > 1) r.workers = threads;
      results.push(r);
      hooks.done?.(t, ms);
      hooks.result?.(r);
    }
  } finally {
    closeHeaps(ctx);
    await current?.teardown?.(ctx);
    await ctx.gang?.close();
    delete ctx.gang;
  }
  return { results: inPlanOrder(results, tasks), failures };
}

/** Results by scenario (as planned), then heap (as listed in VARIANTS), then size: rounds finish in rotating order. */
export function inPlanOrder(results: Result[], tasks: readonly Pick<Task, 'scenario'>[]): Result[] {
  const scenarios = [...new Set(tasks.map((t) => t.scenario))];
  const ids = VARIANTS.map((v) => v.id);
  const rank = (r: Result) => [scenarios.indexOf(r.scenario), ids.indexOf(r.variant), r.size] as const;
  return results
    .map((r, i) => ({ r, i, k: rank(r) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || a.i - b.i)
    .map((x) => x.r);
}
