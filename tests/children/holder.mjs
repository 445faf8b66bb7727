// @ts-check
// A child process that holds a dma-buf as its fd 3 (recycle.vm.test.ts): it maps it and answers one line per
// command on stdin: `check B` (are all bytes B?), `write B`, `close` (munmap and close fd 3: it holds nothing
// any more), `exit`. Its first line is `ready <fdinfo count of fd 3>`. Usage: node holder.mjs <size>
import { createInterface } from 'node:readline';
import { bufSyncEnd, bufSyncStart, closeFd, mmapFd, munmap, readFdInfo } from '@dmaheap/native';

const size = Number(process.argv[2]);
const view = new Uint8Array(mmapFd(3, { length: size }));
/** @param {string} s */
const reply = (s) => process.stdout.write(s + '\n');
reply('ready ' + readFdInfo(3).count);
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'check') {
    bufSyncStart(3, 'read');
    const ok = Buffer.from(view.buffer).equals(Buffer.alloc(size, Number(arg)));
    bufSyncEnd(3, 'read');
    reply(ok ? 'ok' : 'bad ' + view[0] + ' ' + view[size - 1]);
  } else if (cmd === 'write') {
    bufSyncStart(3, 'write');
    view.fill(Number(arg));
    bufSyncEnd(3, 'write');
    reply('written');
  } else if (cmd === 'close') {
    munmap(/** @type {ArrayBuffer} */ (view.buffer));
    closeFd(3);
    reply('closed');
  } else if (cmd === 'exit') {
    process.exit(0);
  }
}
