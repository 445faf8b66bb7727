// The CMA README's example, in the CMA boot (the stock kernel has no CMA heap): from the workspace and from the
// scratch projects the pack test installed.
import { describe } from 'vitest';
import { EXAMPLE_INSTALLERS, EXAMPLES } from './examples.js';
import { runExample } from './run-example.test-helpers.js';

describe('the CMA README example', () => {
  for (const e of EXAMPLES.filter((x) => x.cma)) {
    runExample(e, 'workspace');
    for (const installer of EXAMPLE_INSTALLERS) runExample(e, installer);
  }
});
