// Every README's `js example` block, what it must print, and which selective install runs it (the packages its
// imports need, as a user of that README installs them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface Example {
  readme: string;
  /** The subset of packages a user of this README installs (see SUBSETS). */
  subset: SubsetId;
  /** What it must print: the values its comments promise. */
  expect: RegExp[];
  /** Needs a CMA heap: runs in the CMA boot. */
  cma?: boolean;
}

export type SubsetId = 'kernel' | 'system' | 'cma' | 'pools' | 'share' | 'cli';

/** The uses the root README gives an install line for, as package lists. */
export const SUBSETS: Record<SubsetId, string[]> = {
  kernel: ['@dmaheap/core', '@dmaheap/native'],
  system: ['@dmaheap/core', '@dmaheap/system-heap'],
  cma: ['@dmaheap/core', '@dmaheap/cma-heap'],
  pools: ['@dmaheap/core', '@dmaheap/pagepool', '@dmaheap/native'],
  share: ['@dmaheap/core', '@dmaheap/native', '@dmaheap/share', '@dmaheap/system-heap', '@dmaheap/pagepool'],
  cli: ['@dmaheap/core', '@dmaheap/cli'],
};

export const EXAMPLES: Example[] = [
  { readme: 'README.md', subset: 'system', expect: [/exporter: 'udmabuf'/, /name: 'nv12-frame'/] },
  { readme: 'packages/core/README.md', subset: 'kernel', expect: [/^shared-frame 66 66$/m] },
  { readme: 'packages/native/README.md', subset: 'kernel', expect: [/exporter: 'system'/, /name: 'example'/, /^udmabuf$/m] },
  { readme: 'packages/pagepool/README.md', subset: 'pools', expect: [/hits: 99/, /misses: 1/, /zeroed: 0/] },
  { readme: 'packages/system-heap/README.md', subset: 'system', expect: [/^memfd\+udmabuf$/m, /^udmabuf$/m, /'8': 8/] },
  {
    readme: 'packages/share/README.md',
    subset: 'share',
    expect: [/^consumer\.py 128 129 130 131 132 133 134 135 136 137$/m, /^consumer\.mjs 128 129 130 131 132 133 134 135 136 137$/m, /^19 1$/m],
  },
  {
    readme: 'packages/cma-heap/README.md',
    subset: 'cma',
    cma: true,
    expect: [/^true \[ 'reserved' \]$/m, /^reserved 8192 reserved$/m, /^ERR_DMAHEAP_OUT_OF_MEMORY \[ 'reserved' \]$/m, /^cma\(reserved\)$/m],
  },
];

/** The code of a README's `js example` blocks, joined. */
export function exampleCode(readme: string): string {
  const blocks = [...readFileSync(join(ROOT, readme), 'utf8').matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`${readme} has no \`js example\` block`);
  return blocks.join('\n');
}

/** Where the pack test leaves its scratch projects (outside the checkout), and the VM tests find them. */
export const PACK_DIR = process.env['DMAHEAP_PACK_DIR'] ?? '/var/tmp/dmaheap-pack';

/**
 * How the scratch projects are installed: npm with --ignore-scripts and with its scripts, both on a PATH with no
 * compiler, make or python3; npm with the machine's PATH (a compiler there: nothing may use it); pnpm, which runs
 * no dependency's build script, on the PATH with no compiler.
 */
export const INSTALLERS = ['npm-ignore-scripts', 'npm-no-compiler', 'npm', 'pnpm'] as const;
export type Installer = (typeof INSTALLERS)[number];

/** The installs the README examples run from (`npm` gives the same tree as `npm-no-compiler`). */
export const EXAMPLE_INSTALLERS: readonly Installer[] = ['npm-ignore-scripts', 'npm-no-compiler', 'pnpm'];

/** A scratch project: one subset installed one way. */
export function projectDir(subset: SubsetId, installer: Installer): string {
  return join(PACK_DIR, 'projects', `${subset}-${installer}`);
}
