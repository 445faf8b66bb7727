// Small C programs the tests run beside Node (peers, holders), built once per source content into a build
// directory of the checkout, for this machine and for arm64: the arm64 guest has no compiler, so the x86 runs
// (on the host or in its guest, which sees the host's cross-compiler) build its copy too.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';

const COMPILERS: Record<string, string> = { x64: 'gcc', arm64: 'aarch64-linux-gnu-gcc' };

/** `source` compiled (`-O1 -Wall -Werror`) into `buildDir`; the path of this architecture's executable. */
export function cHelper(source: string, buildDir: string): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const out = (arch: string) => join(buildDir, `${basename(source, '.c')}-${hash}-${arch}`);
  if (process.arch !== 'x64') {
    if (!existsSync(out(process.arch))) throw new Error(`${out(process.arch)} is built by the x86 runs of these tests (${COMPILERS[process.arch] ?? 'a cross-compiler'}); run them first`);
    return out(process.arch);
  }
  mkdirSync(buildDir, { recursive: true });
  // Compiled under a name of this process's own, then renamed: test files in parallel may build the same helper.
  const build = (arch: string) => {
    const tmp = `${out(arch)}.${process.pid}`;
    execFileSync(COMPILERS[arch]!, ['-O1', '-Wall', '-Werror', '-o', tmp, source], { stdio: 'pipe' });
    renameSync(tmp, out(arch));
  };
  if (!existsSync(out('x64'))) build('x64');
  // The arm64 copy is for a later run in the arm64 guest: without a working cross-compiler here, that run says so.
  if (!existsSync(out('arm64')) && existsSync(`/usr/bin/${COMPILERS['arm64']}`)) {
    try {
      build('arm64');
    } catch (err) {
      console.warn(`[c-helper] ${basename(source)} for arm64 not built: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out('x64');
}
