export { arm64Node, cacheDir, ensureArm64Root, ensureStockKernel, KERNEL_META_PACKAGE, moduleChain, type Kernel, type StockFlavour } from './kernel.js';
export { CMA_KERNEL_OPTIONS, CMA_KERNEL_SOURCE_PACKAGE, cmaConfigFragment, cmaKernelBuildTime, ensureCmaKernel, ensureTestKernel, KERNEL_OPTIONS, type Arch } from './cma-kernel.js';
export { runInVm, shellQuote, type ModuleLoad, type RunOptions, type RunResult } from './run.js';
export { VM_ARM64_16K_SETUP, VM_ARM64_TEST_SETUP, VM_CMA_SIZE, VM_CMA_TEST_SETUP, VM_NOINIT_SETUP, VM_TEST_SETUP } from './setup.js';
