// What the benchmark runs: each scenario, on which heaps and sizes, and how one run of it is measured; the plan
// (every run, in order) and the run of it, a heap's rounds at a size becoming one result.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Heap } from '@dmaheap/core';
import { closeFd, DEFAULT_RESERVE, socketPair } from '@dmaheap/native';
import { FdChannel, sendBuffers } from '@dmaheap/share';
import * as loops from './loops.js';
import { countersSince, inTestBed, poolCounters, startPressure, thrashFile, type PressureSource } from './pressure.js';
import { referenceAround, roundOrder, sandwiched } from './rounds.js';
import type { BenchReport, Failure, LoopOptions, PoolCounters, PoolRelief, Result, RoundOptions, Scenario, Skipped } from './types.js';
import { VARIANTS, type Variant, type VariantKind } from './variants.js';

/** A scenario as chosen on the command line (`sync` gives two); `heaps`: its own unless `--heaps`; `sizes`: its own, not the `--sizes`. */
export interface ScenarioDef {
  name: string;
  emits: Scenario[];
  kinds: VariantKind[];
  heaps: 'all' | string[];
  sizes?: number[];
  setup?(ctx: RunContext): Promise<void>;
  teardown?(ctx: RunContext): Promise<void>;
  run(ctx: RunContext, task: Task): Promise<loops.Samples>;
}

/** One run; in the seed loop's rounds, one heap's turn (round 0: the untimed warm-up); `endsSize`: the last turn at its size. */
export interface Task { def: ScenarioDef; scenario: Scenario; variant: Variant; size: number; round?: number; rounds?: number; endsSize?: boolean }

/**
 * `pressureMs`: the pressure runs' least length, so that the pools' PSI monitors (one sample a second) see them; `heaps`: the scenario's, each opened
 * on first use and kept (pools warm between turns) until it ends; `relief`: what their pools gave back.
 */
export interface RunContext {
  loop: LoopOptions;
  rounds?: RoundOptions;
  pressureMs: number;
  otherSizes: number[];
  info: BenchReport['scenarioInfo'];
  heaps?: Map<Variant, { heap: Heap; counters: PoolCounters[] }>;
  relief?: PoolRelief[];
  gang?: loops.WorkerGang;
  pressure?: PressureSource;
  consumer?: { child: ChildProcess; channel: FdChannel };
}

/** The heap every ratio is to, and whose turns surround every other heap's in the seed loop's rounds. */
const REFERENCE = 'kernel';
const WORKER_THREADS = 2;
/** The key a task's time is remembered under: a heap at a size in a scenario (the same in every round). */
export const taskKey = (t: { scenario: Scenario; size: number; variant: { id: string } }): string => `${t.scenario}|${t.variant.id}|${t.size}`;

/** What a task is expected to take before it ran, ms (its time cap): the progress bar's first estimate. */
export const estimateMs = (ctx: Pick<RunContext, 'loop' | 'rounds' | 'pressureMs'>, t: Task): number =>
  t.round !== undefined && ctx.rounds ? ctx.rounds.roundMs : t.scenario === 'pressure' ? Math.max(ctx.loop.maxMs, ctx.pressureMs) : ctx.loop.maxMs;

const countersOf = (heap: Heap) => poolCounters(heap.stats() as unknown as Record<string, unknown>);

/** Runs `measure` on the task's heap, opened on first use within the scenario (as the seed's loop opens its heap once). */
const onHeap = (measure: (heap: Heap, ctx: RunContext, t: Task) => Promise<loops.Samples>) => (ctx: RunContext, t: Task) => {
  const heaps = (ctx.heaps ??= new Map());
  if (!heaps.has(t.variant)) {
    const heap = t.variant.open!();
    heaps.set(t.variant, { heap, counters: countersOf(heap) });
  }
  return measure(heaps.get(t.variant)!.heap, ctx, t);
};

/** Closes one variant's heap (its state is unknown after a failure), or all of them, noting what their pools gave back. */
function closeHeaps(ctx: RunContext, only?: Variant): void {
  for (const [v, { heap, counters }] of [...(ctx.heaps ?? [])].filter(([v]) => !only || v === only)) {
    ctx.heaps!.delete(v);
    try {
      const levels = countersSince(counters, countersOf(heap));
      if (levels.length) (ctx.relief ??= []).push({ variant: v.id, label: v.label, levels });
    } finally {
      heap.close(); // (after a failure its stats may throw too)
    }
  }
}

/** The heaps most worth comparing beyond the seed loop: the reference, systemHeap() as shipped, the pools. */
const MAIN_HEAPS = ['kernel', 'skipsync', 'pool-kernel', 'pool-system', 'cma-heap', 'pool-cma'];

export const SCENARIOS: ScenarioDef[] = [
  {
    name: 'seed', emits: ['seed'], kinds: ['heap', 'c-loop', 'fresh-udmabuf'], heaps: 'all',
    run(ctx, t) {
      const r = t.round !== undefined ? ctx.rounds : undefined;
      const loop = r ? { iterations: r.iterations, maxMs: r.roundMs, warmup: 0, minIterations: r.minIterations } : ctx.loop;
      if (t.variant.kind === 'c-loop') return loops.seedInCSamples(t.size, loop, r !== undefined);
      if (t.variant.kind === 'fresh-udmabuf') return loops.freshUdmabufSamples(t.size, loop);
      return onHeap((heap) => loops.seedSamples(heap, t.size, loop, { cold: t.variant.cold }))(ctx, t);
    },
  },
  {
    name: 'mix', emits: ['mix'], kinds: ['heap'], heaps: MAIN_HEAPS, sizes: [loops.MIX_MEAN_SIZE],
    setup: async (ctx) => void (ctx.info.mix = { pattern: [...loops.MIX_PATTERN], live: loops.MIX_LIVE }),
    run: onHeap((heap, ctx) => loops.mixSamples(heap, ctx.loop)),
  },
  { name: 'touch', emits: ['touch'], kinds: ['heap'], heaps: MAIN_HEAPS, run: onHeap((heap, ctx, t) => loops.seedSamples(heap, t.size, ctx.loop, { touch: true })) },
  {
    name: 'sync', emits: ['sync-private', 'sync-shared'], kinds: ['heap'], heaps: ['kernel', 'pagepool', 'skipsync', 'pool-kernel', 'pool-system', 'cma-heap'],
    run: onHeap((heap, ctx, t) => loops.syncSamples(heap, t.size, t.scenario === 'sync-shared', ctx.loop)),
  },
  {
    name: 'pressure', emits: ['pressure'], kinds: ['heap'], heaps: ['kernel', 'skipsync', 'system-cold', 'pool-kernel', 'pool-system'],
    async setup(ctx) {
      // In the test bed, real reclaim in a memory cgroup of its own. Elsewhere, leave just what the heaps keep in reserve
      // (they refuse allocations below it rather than let the OOM killer in), room for two of the largest buffers and
      // 64 MiB of slack (with 24 MiB a pool that still held its smaller sizes was refused at 32 MiB in a full run).
      ctx.pressure = await startPressure(inTestBed() ? { file: thrashFile() } : { reserveBytes: DEFAULT_RESERVE + 64 * 2 ** 20 + 2 * Math.max(...ctx.otherSizes) });
    },
    async teardown(ctx) {
      if (ctx.pressure) ctx.info.pressure = { ...(await ctx.pressure.stop()), pools: ctx.relief ?? [] };
      delete ctx.pressure;
    },
    run: onHeap((heap, ctx, t) => loops.seedSamples(heap, t.size, { ...ctx.loop, maxMs: Math.max(ctx.loop.maxMs, ctx.pressureMs) }, { cold: t.variant.cold, yields: true })),
  },
  {
    name: 'workers', emits: ['workers'], kinds: ['heap', 'c-loop'], heaps: ['kernel', 'kernel-c', 'skipsync', 'pool-kernel', 'pool-system'],
    setup: async (ctx) => void (ctx.gang = new loops.WorkerGang(WORKER_THREADS)),
    teardown: async (ctx) => void (await ctx.gang?.close()),
    async run(ctx, t) {
      try {
        return loops.mergeSamples(await ctx.gang!.run(t.variant.id, t.size, ctx.loop));
      } catch (err) {
        await ctx.gang!.close(); // a thread that failed may still be busy: the next run gets fresh ones
        ctx.gang = new loops.WorkerGang(WORKER_THREADS);
        throw err;
      }
    },
  },
  {
    name: 'share', emits: ['share'], kinds: ['heap'], heaps: ['kernel', 'skipsync', 'pool-kernel', 'pool-system'],
    async setup(ctx) {
      // The consumer (dist/share-consumer.js) on the other end of a socket pair, as its fd 3.
      const [ours, theirs] = socketPair('stream');
      const child = spawn(process.execPath, [fileURLToPath(new URL('./share-consumer.js', import.meta.url))], { stdio: ['ignore', 'inherit', 'inherit', theirs] });
      closeFd(theirs);
      ctx.consumer = { child, channel: FdChannel.fromFd(ours) };
    },
    async teardown({ consumer: c }) {
      c?.channel.close();
      if (c && c.child.exitCode === null) await new Promise((resolve) => c.child.once('exit', resolve));
    },
    run: onHeap((heap, { consumer, loop }, t) =>
      loops.shareSamples(heap, t.size, loop, async (buffer) => {
        await sendBuffers(consumer!.channel, [{ buffer }]);
        return (await consumer!.channel.receive()).data[0]!;
      }),
    ),
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/**
 * The runs, in order: by scenario, then heap, then size; with the heaps that cannot run here, and why. With `rounds`, the seed loop runs by size,
 * then round (0: the warm-up), then heap in the round's order, the kernel heap's turn before each heap and after the last.
 */
export function plan(scenarios: string[], heaps: string[] | undefined, sizes: number[], otherSizes = sizes, rounds = 0): { tasks: Task[]; skipped: Skipped[] } {
  const tasks: Task[] = [];
  const skipped = new Map<string, Skipped>();
  for (const def of SCENARIOS.filter((s) => scenarios.includes(s.name))) {
    const wanted = heaps ?? (def.heaps === 'all' ? VARIANTS.map((v) => v.id) : def.heaps);
    const runnable = VARIANTS.filter((v) => wanted.includes(v.id) && def.kinds.includes(v.kind)).filter((v) => {
      const reason = v.skip();
      if (reason) skipped.set(v.id, { variant: v.id, label: v.label, reason });
      return !reason;
    });
    const reference = runnable.find((v) => v.id === REFERENCE);
    if (def.name !== 'seed' || rounds === 0) {
      for (const variant of runnable) for (const scenario of def.emits) for (const size of def.sizes ?? (def.name === 'seed' ? sizes : otherSizes)) tasks.push({ def, scenario, variant, size });
    } else {
      for (const size of sizes) {
        for (let round = 0; round <= rounds; round++) {
          const order = sandwiched(roundOrder(runnable.filter((v) => v !== reference), round), reference);
          order.forEach((variant, i) => tasks.push({ def, scenario: 'seed', variant, size, round, rounds, ...(round === rounds && i === order.length - 1 ? { endsSize: true } : {}) }));
        }
      }
    }
  }
  return { tasks, skipped: [...skipped.values()] };
}

/**
 * A size's timed turns (in the order they ran) as one result per heap: calls and times summed over its turns, each turn's median call and mean in
 * `rounds` and `roundMeans`, the reference's turns around each in `reference`.
 */
export function roundResults(turns: ReadonlyArray<{ task: Task; samples: loops.Samples }>, iterations: number): Result[] {
  const figures = turns.map(({ task, samples }) => ({ key: taskKey(task), ...loops.turnFigures(samples) }));
  const around = referenceAround(figures, turns[0] ? taskKey({ ...turns[0].task, variant: { id: REFERENCE } }) : '');
  return [...new Set(figures.map((f) => f.key))].map((key) => {
    const mine = turns.filter((_, i) => figures[i]!.key === key);
    const { task } = mine[0]!;
    const r = loops.toResult(task.variant, 'seed', task.size, iterations * mine.length, loops.joinSamples(mine.map((m) => m.samples), mine.reduce((n, m) => n + m.samples.totalNs, 0)));
    r.rounds = figures.filter((f) => f.key === key).map((f) => f.ns);
    r.roundMeans = figures.filter((f) => f.key === key).map((f) => f.mean);
    const ref = around.get(key);
    if (ref && ref.ns.length === mine.length) r.reference = { rounds: ref.ns, means: ref.means };
    return r;
  });
}

/** What runTasks tells its caller: a task starts, is done (`ms`: when it ran without failing), failed; a result is complete. */
export interface RunHooks { step(t: Task): void; done(t: Task, ms?: number): void; failed(t: Task, f: Failure): void; result(r: Result): void }

/**
 * Runs the tasks in order, each scenario's set-up before its first task and its tear-down after its last. A run that throws (a heap refusing an
 * allocation under memory pressure, say) is a failure and the others go on (in rounds, that heap's turns at that size are dropped and its later ones
 * not run); a set-up that throws ends the benchmark. Results come back by scenario (as planned), heap (as listed in VARIANTS), then size.
 */
export async function runTasks(tasks: Task[], ctx: RunContext, hooks: RunHooks): Promise<{ results: Result[]; failures: Failure[] }> {
  const results: Result[] = [];
  const failures: Failure[] = [];
  const failed = (t: { scenario: Scenario; size: number; variant: string }) => failures.some((f) => f.scenario === t.scenario && f.variant === t.variant && f.size === t.size);
  let turns: Array<{ task: Task; samples: loops.Samples }> = [];
  let current: ScenarioDef | undefined;
  // Warm up the JavaScript paths every heap shares (untimed), so that the first run does not pay for the JIT on everyone's behalf.
  const kernel = tasks.find((t) => t.variant.id === REFERENCE)?.variant.open!();
  try {
    if (kernel) loops.warmUp({ ...ctx.loop, warmup: 1000, maxMs: 2 * Math.max(ctx.loop.maxMs, 100) }, () => kernel.allocate(4096).close());
  } finally {
    kernel?.close();
  }
  try {
    for (const t of tasks) {
      if (t.def !== current) {
        closeHeaps(ctx);
        await current?.teardown?.(ctx);
        delete ctx.relief;
        await (current = t.def).setup?.(ctx);
      }
      if (failed({ ...t, variant: t.variant.id })) hooks.done(t);
      else {
        hooks.step(t);
        const t0 = Date.now();
        try {
          const samples = await t.def.run(ctx, t);
          if (t.round) turns.push({ task: t, samples }); // round 0 is the warm-up
          hooks.done(t, Date.now() - t0);
          if (t.round === undefined) {
            const threads = t.scenario === 'workers' ? WORKER_THREADS : 1;
            const r = loops.toResult(t.variant, t.scenario, t.size, ctx.loop.iterations * threads, samples);
            if (threads > 1) r.workers = threads;
            results.push(r);
            hooks.result(r);
          }
        } catch (err) {
          closeHeaps(ctx, t.variant); // its state is unknown now: the next run starts from a fresh heap
          const f: Failure = { scenario: t.scenario, variant: t.variant.id, size: t.size, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
          failures.push(f);
          hooks.failed(t, f);
          hooks.done(t);
        }
      }
      if (t.endsSize) {
        // The reference's turns before a failure still stand around the others'; the failed heap's own are dropped.
        for (const r of roundResults(turns, ctx.rounds!.iterations).filter((x) => !failed(x))) {
          results.push(r);
          hooks.result(r);
        }
        turns = [];
      }
    }
  } finally {
    closeHeaps(ctx);
    await current?.teardown?.(ctx);
  }
  const rank = (r: Result) => tasks.findIndex((t) => t.scenario === r.scenario) * VARIANTS.length + VARIANTS.findIndex((v) => v.id === r.variant);
  return { results: results.sort((a, b) => rank(a) - rank(b) || a.size - b.size), failures };
}
