// The report's shape, `format: 'dmaheap-bench/3'` (apps/bench/README.md says what each field holds): what the
// measurements fill in and every output reads. Types only: every module may import it, and it imports none.

export type Scenario = 'seed' | 'mix' | 'touch' | 'sync-private' | 'sync-shared' | 'workers' | 'pressure' | 'share';
/** The kinds of work the calibration measures. */
export type Cost = 'kernel-zero' | 'user-zero' | 'syscalls' | 'js';
export type Shares = Partial<Record<Cost, number>>;
export interface Percentiles { p50: number; p99: number; max: number }
/** One run of a timed loop: up to `iterations` calls, or `maxMs` once `minIterations` calls are made. */
export interface LoopOptions { iterations: number; maxMs: number; warmup: number; minIterations: number }
/** The seed loop's interleaved rounds: a heap's turn stops after `roundMs` (once it made `minIterations` calls) or `iterations` calls. */
export interface RoundOptions { rounds: number; roundMs: number; minIterations: number; iterations: number }

export interface Result {
  variant: string; label: string; group: string; scenario: Scenario;
  size: number; requested: number; iterations: number; totalNs: number; nsPerCall: number; gbPerSec: number;
  call?: Percentiles; alloc?: Percentiles; free?: Percentiles;
  ratioToKernel?: number;
  /** The seed loop's rounds: each turn's median call and mean, the kernel's turns around each; the per-round ratios, their spread, the same from the means. */
  rounds?: number[]; roundMeans?: number[]; reference?: { rounds: number[]; means: number[] };
  ratioRounds?: number[]; ratioSpread?: { min: number; max: number }; ratioCrossesOne?: boolean; meanRatio?: { median: number; min: number; max: number };
  workers?: number;
  /** Merged in from another boot: its kernel (the ratio is to that boot's kernel heap). */
  kernel?: string;
}

export interface CalibrationFigures {
  kernel: string; cpuModel: string;
  userZeroGBps: number; kernelZeroGBps: number; syscallNs: number; cSyscallNs?: number; jsCallNs: number; allocNs: number; zeroBytes: number;
}
/** What the kernel heap's seed call is made of at a size (measured from it and its C loop): shares of its time, the largest. */
export interface Dominance { scenario: 'seed'; size: number; shares: Shares; dominant: Cost }
export interface Calibration { here: CalibrationFigures; host?: CalibrationFigures; dominance: Dominance[] }
/** What one level of a pool gave back (`buffer pool`, `page pool`, `inner page pool`). */
export interface PoolCounters { level: string; pressureEvents: number; trimmedBytes: number }
export interface PoolRelief { variant: string; label: string; levels: PoolCounters[] }

/** `cgroup`: a child rereads a file in a small memory cgroup (the VM test bed); `hog`: a child holds most of MemAvailable. */
export interface PressureInfo {
  source: 'cgroup' | 'hog';
  cgroupLimitBytes?: number; file?: string; passes?: number; cgroupEvents?: Record<string, number>; cgroupStallUs?: number;
  heldBytes?: number;
  availableBefore: number; availableDuring: number; stallUs?: number; hogLost?: boolean;
  pools?: PoolRelief[];
}

export interface Machine { kernel: string; arch: string; node: string; cpus: number; cpuModel: string; memoryBytes: number; inVm: boolean; emulated: boolean }
export interface Skipped { variant: string; label: string; reason: string }
export interface Failure { scenario: Scenario; variant: string; size: number; error: string }

export interface BenchReport {
  format: string;
  date: string;
  machine: Machine;
  options: LoopOptions & { sizes: number[]; scenarios: string[]; mode: 'quick' | 'default' | 'full'; rounds?: RoundOptions; otherSizes?: number[]; pressureMs?: number };
  calibration: Calibration;
  scenarioInfo: { mix?: { pattern: number[]; live: number }; pressure?: PressureInfo };
  skipped: Skipped[];
  failures?: Failure[];
  results: Result[];
  mergedRuns?: Array<{ date: string; machine: Machine; variants: string[]; calibration?: Calibration }>;
}
