export { DEFAULT_ORDERS, sgTriples, systemHeap, systemHeapProvider, type Chunk, type SystemHeap, type SystemHeapOptions } from './system-heap.js';
