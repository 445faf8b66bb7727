// Runs a script in a child Node process with every @dmaheap package loaded (as `core`, `native`, `pp` and `sh`),
// awaited asynchronously so the test runner stays responsive however long the child works or however much
// memory it takes. The script prints one JSON line, which is returned parsed.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const native = require.resolve('@dmaheap/native');
const entries = {
  core: createRequire(native).resolve('@dmaheap/core'),
  native,
  pp: require.resolve('@dmaheap/pagepool'),
  sh: require.resolve('@dmaheap/system-heap'),
};

/** The same heaps, as expressions over the child's module names. */
export const CHILD_HEAPS = {
  "kernelHeap('system')": "native.kernelHeap('system')",
  'systemHeap()': 'sh.systemHeap()',
  "bufferPool(kernelHeap('system'))": "pp.bufferPool(native.kernelHeap('system'))",
  'bufferPool(systemHeap())': 'pp.bufferPool(sh.systemHeap())',
};

export async function runInChild<T>(body: string, nodeArgs: string[] = []): Promise<T> {
  const script = `
    import { readFileSync } from 'node:fs';
    ${Object.entries(entries)
      .map(([name, path]) => `const ${name} = await import(${JSON.stringify(path)});`)
      .join('\n    ')}
    const kB = (file, field) => Number(new RegExp('^' + field + ':\\\\s+(\\\\d+) kB', 'm').exec(readFileSync(file, 'utf8'))[1]) * 1024;
    ${body}
  `;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}
