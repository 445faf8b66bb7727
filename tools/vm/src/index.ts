export { cacheDir, ensureStockKernel, KERNEL_META_PACKAGE, type Kernel } from './kernel.js';
export { runInVm, shellQuote, type ModuleLoad, type RunOptions, type RunResult } from './run.js';
export { VM_TEST_SETUP } from './setup.js';
