export { DEFAULT_ORDERS, sgTable, systemHeap, systemHeapProvider, type Chunk, type SystemHeap, type SystemHeapOptions } from './system-heap.js';
