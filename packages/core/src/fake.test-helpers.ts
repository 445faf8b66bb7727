// FAKE backend for unit tests of pure TypeScript logic (registry, DmaBuf state machine, bookkeeping).
// It makes no system call and proves nothing about the kernel; kernel behaviour is tested in the VM.
import { DmaBuf, type DmaBufOps } from './dmabuf.js';
import { OutOfMemoryError } from './errors.js';
import { AbstractHeap } from './heap.js';
import type { AllocateOptions, HeapCapabilities } from './types.js';

export class FakeOps implements DmaBufOps {
  calls: string[] = [];
  nextFd = 1000;
  mmap(_fd: number, length: number): ArrayBuffer {
    this.calls.push('mmap');
    return new ArrayBuffer(length);
  }
  munmap(): void {
    this.calls.push('munmap');
  }
  sync(_fd: number, phase: string, mode: string): void {
    this.calls.push(`sync:${phase}:${mode}`);
  }
  setName(_fd: number, name: string): void {
    this.calls.push(`setName:${name}`);
  }
  dup(): number {
    this.calls.push('dup');
    return this.nextFd++;
  }
}

/** A FAKE heap over FakeOps; `budget` bytes before it throws OutOfMemoryError. */
export class FakeHeap extends AbstractHeap {
  readonly capabilities: HeapCapabilities = { contiguous: false, cached: true, alignment: 4096, backing: 'fake' };
  readonly ops = new FakeOps();
  released: number[] = [];
  releaseStates: Array<{ mapped: boolean; shared: boolean }> = [];
  constructor(
    readonly name: string,
    public budget = Infinity,
    readonly skipSync = false,
  ) {
    super();
  }
  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    if (size > this.budget) throw new OutOfMemoryError(`fake heap ${this.name} is out of memory`, { heap: this.name });
    this.budget -= size;
    const fd = this.ops.nextFd++;
    return this.buffer({
      fd,
      size,
      ops: this.ops,
      name: options.name,
      skipSyncUntilShared: this.skipSync,
      release: (state) => {
        this.budget += size;
        this.released.push(fd);
        this.releaseStates.push(state);
      },
    });
  }
}
