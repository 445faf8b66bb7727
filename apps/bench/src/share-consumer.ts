// The bench's consumer process for the `share` scenario: on the socket passed as its fd 3, it takes each
// buffer (imported as a DmaBuf), reads one byte inside a read bracket, closes it, and acks with that byte.
import { FdChannel, parseBuffers } from '@dmaheap/share';

const channel = FdChannel.fromFd(3);
const ack = new Uint8Array(1);
for await (const message of channel) {
  const { buffers } = parseBuffers(message);
  for (const { buffer } of buffers) {
    ack[0] = buffer.withCpuAccess('read', (v) => v[0]!);
    buffer.close();
  }
  await channel.send(ack);
}
