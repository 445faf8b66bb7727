export { bufferPool, bufferPoolProvider, type BufferPoolOptions } from './buffer-pool.js';
export { PagePool, type PagePoolOptions, type PagePoolStats } from './page-pool.js';
export { PressureMonitor, readMemoryStall, type PressureOptions } from './pressure.js';
