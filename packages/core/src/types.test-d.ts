import { describe, expectTypeOf, it } from 'vitest';
import type { DmaBuf, Heap } from './index.js';
import { DmaHeapError, openHeap } from './index.js';

describe('public types', () => {
  it('pins the heap interface', () => {
    expectTypeOf(openHeap).returns.toEqualTypeOf<Heap>();
    expectTypeOf<Heap['allocate']>().returns.toEqualTypeOf<DmaBuf>();
    expectTypeOf<Heap['allocateAsync']>().returns.toEqualTypeOf<Promise<DmaBuf>>();
    expectTypeOf<Heap['specificationVersion']>().toEqualTypeOf<'v1'>();
    expectTypeOf<Parameters<DmaBuf['beginCpuAccess']>[0]>().toEqualTypeOf<'read' | 'write' | 'readwrite'>();
    expectTypeOf<DmaBuf>().toMatchTypeOf<Disposable>();
    expectTypeOf<DmaHeapError['code']>().toMatchTypeOf<`ERR_DMAHEAP_${string}`>();
  });
});
