// The addon under AddressSanitizer (host): its C files (c/*.c) built with -fsanitize=address and loaded into
// plain Node with libasan preloaded, driving the paths where one owner frees what another still refers to (a
// mapping's record after a transfer, instance data of two loads in one environment, a terminated worker's fds,
// allocations on the thread pool completing while their worker is torn down). Before mappings were
// reference-counted, reading a transferred ArrayBuffer's mapping after collection was a heap-use-after-free that
// ASan reported here; so was a worker terminated in the middle of mmap.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const libasan = (() => {
  try {
    const path = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
})();
const nodeHeaders = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));

describe('the addon under AddressSanitizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-asan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let built: string | undefined;
  /** The addon's C files under AddressSanitizer, built once. */
  const buildAsan = () => {
    if (built) return built;
    const addon = join(dir, 'dmaheap_native.node');
    const sources = readdirSync(join(PKG, 'c')).filter((f) => f.endsWith('.c')).map((f) => join(PKG, 'c', f));
    execFileSync('gcc', [
      '-shared', '-fPIC', '-g', '-O1', '-fsanitize=address', '-fno-omit-frame-pointer', '-std=gnu11', '-fvisibility=hidden',
      '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=dmaheap_native', `-I${nodeHeaders}`, ...sources, '-o', addon,
    ]);
    return (built = addon);
  };

  it.skipIf(!libasan || !nodeHeaders)(
    `mappings transferred and collected, unmapped twice, two loads in one environment, a terminated worker: no memory error${libasan && nodeHeaders ? '' : ' (skipped: no libasan or Node headers)'}`,
    () => {
      const addon = buildAsan();
      const r = spawnSync(
        process.execPath,
        ['--expose-gc', '--harmony-rab-gsab-transfer', fileURLToPath(new URL('./children/asan-exercise.mjs', import.meta.url)), addon],
        { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0' }, timeout: 120_000 },
      );
      expect(r.stderr).not.toMatch(/AddressSanitizer/);
      expect(r.status, r.stderr).toBe(0);
      const [results, ok] = r.stdout.trim().split('\n');
      expect(ok).toBe('ok');
      // Per load: once the new ArrayBuffer of a transfer is collected, the old one is no mapping (address 0,
      // madvise EINVAL, munmap 0); munmap of the old one while the new one lives says the memory lives on (1);
      // unmapping twice is 0 both times; an allocation on the thread pool on a memfd is ENOTTY.
      expect(JSON.parse(results!)).toEqual(['0', '-22', '0', '1', '0', '0', '-25', '0', '-22', '0', '1', '0', '0', '-25']);
    },
    120_000,
  );

  it.skipIf(!libasan || !nodeHeaders)(
    `workers terminated in the middle of mmap, munmap and poll watchers: no memory error, no mapping or fd left${libasan && nodeHeaders ? '' : ' (skipped: no libasan or Node headers)'}`,
    () => {
      // Before mappings were a table of ids, napi_wrap failing in a terminating worker after it had installed the
      // wrap made its finalizer drop a record the backing store's finalizer had freed: heap-use-after-free.
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('./children/terminate-mapping.mjs', import.meta.url)), buildAsan(), '12'], {
        encoding: 'utf8',
        env: { ...process.env, LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0' },
        timeout: 120_000,
      });
      expect(r.stderr).not.toMatch(/AddressSanitizer/);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ rounds: 12, before: 0, after: 0, fdsLeft: 0 });
    },
    120_000,
  );
});
