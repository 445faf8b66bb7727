export { DeferredFrees } from './deferred.js';
export { bufferPool, bufferPoolProvider, type BufferPoolOptions } from './buffer-pool.js';
export { PagePool, pagePoolSettings, type PagePoolOptions, type PagePoolStats } from './page-pool.js';
export { PressureMonitor, pressureOption, readMemoryStall, type PressureOptions } from './pressure.js';
