// Small C programs the tests run beside Node (peers, holders), built once per source content into a build
// directory of the checkout, for this machine and for arm64: the arm64 guest has no compiler, so the x86 runs
// (on the host or in its guest, which sees the host's cross-compiler) build its copy too.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
  for (const [arch, cc] of Object.entries(COMPILERS)) {
    if (existsSync(out(arch)) || (arch !== 'x64' && !existsSync(`/usr/bin/${cc}`))) continue;
    execFileSync(cc, ['-O1', '-Wall', '-Werror', '-o', out(arch), source]);
  }
  return out('x64');
}
