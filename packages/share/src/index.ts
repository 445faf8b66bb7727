// @dmaheap/share: dma-bufs to and from running processes over Unix sockets (SCM_RIGHTS), with buffer
// descriptions and plane layouts; sync files and non-blocking waits come from @dmaheap/native.
export { FdChannel, type ChannelOptions, type Message } from './channel.js';
export { connect, FdServer, listen } from './server.js';
export { describeBuffers, FORMAT_VERSION, parseBuffers, receiveBuffers, sendBuffers, type BufferDescription, type Envelope, type Incoming, type Outgoing } from './buffers.js';
export { fourccCode, planeLayout, type Fourcc, type Layout, type Plane } from './formats.js';
