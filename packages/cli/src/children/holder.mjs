// @ts-check
// A Node process holding known dma-bufs, for ls.vm.test.ts. Each argument is a buffer:
//   alloc:SIZE:NAME:HOW        from /dev/dma_heap/system; NAME "-" for none; HOW fd, map (mapped, then its fd
//                              closed) or both
//   udmabuf:SIZE:NAME:HOW      a udmabuf over a memfd (the memfd closed once the udmabuf is made)
//   inherit:FD:HOW             a buffer inherited as fd FD
//   leak:SIZE:NAME:EVERY_MS    allocates one more buffer (fd only) every EVERY_MS, forever
// It prints one JSON line, {"pid","buffers":[{"ino","size","name","fds","mappings","mappedBytes"}]}, then holds
// everything until its stdin closes.
import { fstatSync } from 'node:fs';
import { addSeals, bufSetName, closeFd, constants, ftruncate, heapAlloc, memfdCreate, mmapFd, openDevice, readFdInfo, udmabufCreate } from '@dmaheap/native';

/** @type {number | undefined} */
let heap;
const systemHeap = () => (heap ??= openDevice('/dev/dma_heap/system'));
/** @type {ArrayBuffer[]} */
const mappings = []; // kept reachable: a collected mapping would be unmapped by its finalizer
/** @type {Array<{ ino: number; size: number; name: string | null; fds: number[]; mappings: number; mappedBytes: number }>} */
const buffers = [];

/** @param {number} fd @param {number} size @param {string} how @param {string | null} name */
function hold(fd, size, how, name) {
  const ino = fstatSync(fd).ino;
  const mapped = how === 'map' || how === 'both';
  if (mapped) {
    const m = mmapFd(fd, { length: size });
    new Uint8Array(m)[0] = 1;
    mappings.push(m);
  }
  if (how === 'map') closeFd(fd);
  buffers.push({ ino, size, name, fds: how === 'map' ? [] : [fd], mappings: mapped ? 1 : 0, mappedBytes: mapped ? size : 0 });
}

for (const spec of process.argv.slice(2)) {
  const [kind, a = '', b = '', c = ''] = spec.split(':');
  if (kind === 'alloc' || kind === 'udmabuf') {
    const size = Number(a);
    let fd;
    if (kind === 'alloc') {
      fd = heapAlloc(systemHeap(), size);
    } else {
      const memfd = memfdCreate('holder', { allowSealing: true });
      ftruncate(memfd, size);
      addSeals(memfd, ['shrink']);
      const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
      fd = udmabufCreate(dev, { memfd, size });
      closeFd(dev);
      closeFd(memfd);
    }
    if (b !== '-') bufSetName(fd, b);
    hold(fd, size, c, b === '-' ? null : b);
  } else if (kind === 'inherit') {
    const fd = Number(a);
    hold(fd, readFdInfo(fd).size ?? 0, b, null);
  } else if (kind === 'leak') {
    const size = Number(a);
    const every = Number(c);
    setInterval(() => {
      const fd = heapAlloc(systemHeap(), size);
      bufSetName(fd, b);
      buffers.push({ ino: fstatSync(fd).ino, size, name: b, fds: [fd], mappings: 0, mappedBytes: 0 });
    }, every);
  } else {
    throw new Error(`bad spec ${spec}`);
  }
}

process.stdout.write(JSON.stringify({ pid: process.pid, buffers }) + '\n');
process.stdin.on('data', (d) => {
  if (String(d).includes('report')) process.stdout.write(JSON.stringify({ pid: process.pid, buffers }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
