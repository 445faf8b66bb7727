// Every README's `js example` runs as written and prints what its comments say, in the VM against the real
// kernel: from the workspace (a directory where all @dmaheap packages resolve), and from each scratch project
// the pack test installed from the packed tarballs (the packages of one use only, as a user installs them).
// The CMA README's example runs in the CMA boot (readme-examples.cma.vm.test.ts).
import { describe } from 'vitest';
import { EXAMPLE_INSTALLERS, EXAMPLES } from './examples.js';
import { runExample } from './run-example.test-helpers.js';

describe('README examples, from the workspace', () => {
  for (const e of EXAMPLES.filter((x) => !x.cma)) runExample(e, 'workspace');
});

describe('README examples, from the packed tarballs installed into empty projects', () => {
  for (const installer of EXAMPLE_INSTALLERS) for (const e of EXAMPLES.filter((x) => !x.cma)) runExample(e, installer);
});
