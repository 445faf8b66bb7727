// @dmaheap/cli: the `dmaheap` command, and the pieces it is built of for programs of their own: reading every
// process's dma-bufs from /proc, grouping them, diffing two readings, and the doctor's report.
export { parseBufinfo, parseCmdline, parseFdinfo, parseMaps, parseStatusUid, type BufinfoEntry, type DmabufFdinfo, type DmabufMapping } from './procfs.js';
export { listPids, nodeReader, scanProc, scanProcess, type ProcReader, type ProcScan, type ProcessScan, type ScanOptions, type UnreadableProcess } from './scan.js';
export {
  buildSnapshot,
  type BufferEntry,
  type ExporterTotals,
  type Holder,
  type HoldKind,
  type ProcessBuffer,
  type ProcessEntry,
  type Snapshot,
  type SnapshotOptions,
  type Totals,
  type UnattributedBuffer,
} from './model.js';
export { diffSnapshots, type BufferChange, type Changes, type ProcessChange } from './diff.js';
export { colorWanted, formatBytes, formatDelta, makeStyle, type Style } from './format.js';
export { renderTable, type Cell, type Column, type TableOptions } from './table.js';
export { heldAs, renderLs, renderWatch, type RenderOptions, type WatchFrame } from './render.js';
export { fixFor, gatherDoctor, nodeDoctorFs, type CmaArea, type DeviceNode, type DoctorFs, type DoctorReport, type Fix, type HeapNode } from './doctor.js';
export { caveatsFor, NO_PROBES, probeKernel, type Caveat, type KernelProbes, type ProbeAnswer } from './doctor-caveats.js';
export { resolveHeaps, type HeapResolutions, type Resolution } from './doctor-registry.js';
export { renderDoctor } from './doctor-render.js';

/** Lists every dma-buf held by a process (or by `pids`), as `dmaheap ls --json` prints it. */
export { listDmaBufs } from './list.js';
