// The structs built by hand (the rigs' DataView code) and by the addon hold to the kernel headers of both
// architectures the test bed runs (host): rig/layouts.c prints sizeof and offsetof from the headers; it is
// compiled for x86_64 with gcc and for arm64 with Debian's cross gcc, run natively and under qemu-user, and each
// output must be LAYOUTS exactly.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAYOUTS } from './layouts.js';

const source = join(import.meta.dirname, '..', '..', 'rig', 'layouts.c');
const dir = mkdtempSync(join(tmpdir(), 'dmaheap-layouts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Debian's x86_64 linux-libc-dev has no drm/ (libdrm-dev would bring it); the arm64 cross one has it, and the
// DRM UAPI headers are the same for every architecture (fixed-size types only).
const drmHeaders = join(dir, 'drm-headers');
mkdirSync(drmHeaders);
symlinkSync('/usr/aarch64-linux-gnu/include/drm', join(drmHeaders, 'drm'));

const ARCHES = [
  { arch: 'x86_64', cc: 'gcc', run: (exe: string) => execFileSync(exe, { encoding: 'utf8' }) },
  { arch: 'arm64', cc: 'aarch64-linux-gnu-gcc', run: (exe: string) => execFileSync('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', exe], { encoding: 'utf8' }) },
];

describe.each(ARCHES)('struct layouts on $arch', ({ arch, cc, run }) => {
  it('are what the rigs and the addon assume, field by field', () => {
    const exe = join(dir, `layouts-${arch}`);
    execFileSync(cc, ['-Wall', '-idirafter', drmHeaders, '-o', exe, source]);
    const printed = JSON.parse(run(exe)) as typeof LAYOUTS;
    expect(printed).toEqual(LAYOUTS);
  });
});
