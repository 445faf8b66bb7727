// @ts-check
// Run by an arm64 Node under qemu-user from a project where @dmaheap/native was installed from its tarball
// (pack.test.ts): the calls that need no dma-buf device, and which prebuild node-gyp-build loaded.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as n from '@dmaheap/native';

const require = createRequire(import.meta.url);
const pkg = dirname(require.resolve('@dmaheap/native/package.json'));
const addon = /** @type {{ path(dir: string): string }} */ (require('node-gyp-build')).path(pkg);

const fd = n.memfdCreate('arm64-smoke', { allowSealing: true });
n.ftruncate(fd, 4 * n.PAGE_SIZE);
n.addSeals(fd, ['shrink', 'grow']);
const seals = n.sealNames(n.getSeals(fd));
const ab = n.mmapFd(fd, { length: 2 * n.PAGE_SIZE });
const view = new Uint8Array(ab);
view.set([1, 2, 3]);
const again = new Uint8Array(n.mmapFd(fd, { length: n.PAGE_SIZE }));
const readBack = [...again.subarray(0, 3)];
n.munmap(/** @type {ArrayBuffer} */ (again.buffer));
n.munmap(ab);
const info = n.readFdInfo(fd);

/** @param {() => unknown} fn */
const code = (fn) => {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return /** @type {{ code: string }} */ (e).code;
  }
};
const errors = [
  code(() => n.ftruncate(2 ** 30, 4096)), // not an open fd
  code(() => n.mmapFd(fd, { length: 64 * n.PAGE_SIZE })), // past the end of the file
  code(() => n.memfdCreate('bad\0name')),
  code(() => n.ftruncate(fd, n.PAGE_SIZE)), // under the shrink seal
];
n.closeFd(fd);
console.log(
  JSON.stringify({
    arch: process.arch,
    node: process.version,
    addon,
    pageSize: n.PAGE_SIZE,
    seals,
    readBack,
    detached: view.length,
    memfdInfo: { flags: info.flags, pos: info.pos },
    errors,
  }),
);
