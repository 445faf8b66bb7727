export { cacheDir, ensureStockKernel, KERNEL_META_PACKAGE, type Kernel } from './kernel.js';
export { CMA_KERNEL_OPTIONS, CMA_KERNEL_SOURCE_PACKAGE, cmaConfigFragment, cmaKernelBuildTime, ensureCmaKernel } from './cma-kernel.js';
export { runInVm, shellQuote, type ModuleLoad, type RunOptions, type RunResult } from './run.js';
export { VM_CMA_SIZE, VM_CMA_TEST_SETUP, VM_TEST_SETUP } from './setup.js';
