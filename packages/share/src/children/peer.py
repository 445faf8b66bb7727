#!/usr/bin/env python3
# A peer in Python's standard library only, on the socket passed as its fd 3 (share.vm.test.ts): the same
# protocol as peer.mjs and peer.c. Frames are a 4-byte little-endian length and that many bytes of JSON; fds
# come with a frame's first bytes (socket.send_fds / socket.recv_fds, SCM_RIGHTS).
import fcntl, json, mmap, os, socket, struct, sys

DMA_HEAP_IOCTL_ALLOC = 0xC0184800  # _IOWR('H', 0, struct dma_heap_allocation_data) (24 bytes)
DMA_BUF_SET_NAME_B = 0x40086201    # _IOW('b', 1, u64)
DMA_BUF_IOCTL_SYNC = 0x40086200    # _IOW('b', 0, struct dma_buf_sync)
SYNC_READ, SYNC_WRITE, SYNC_END = 1, 2, 4

sock = socket.socket(fileno=3)

def recv_exact(n):
    out = b''
    while len(out) < n:
        more = sock.recv(n - len(out))
        if not more:
            raise EOFError
        out += more
    return out

def recv_frame():
    head, fds, _flags, _addr = socket.recv_fds(sock, 4, 253)
    if not head:
        return None, []
    head += recv_exact(4 - len(head)) if len(head) < 4 else b''
    (n,) = struct.unpack('<I', head)
    return json.loads(recv_exact(n)), fds

def send_frame(obj, fds=()):
    body = json.dumps(obj).encode()
    socket.send_fds(sock, [struct.pack('<I', len(body)) + body], list(fds))

def fd_count():
    return len(os.listdir('/proc/self/fd')) - 1

def fdinfo(fd):
    info = {}
    with open(f'/proc/self/fdinfo/{fd}') as f:
        for line in f:
            k, _, v = line.partition(':')
            info[k] = v.strip('\n').lstrip('\t')
    return info

def sync(fd, flags):
    fcntl.ioctl(fd, DMA_BUF_IOCTL_SYNC, struct.pack('<Q', flags))

def consume(msg, fds):
    meta = msg['meta']
    results = []
    for b in msg['buffers']:
        fd, size = fds[b['fd']], b['size']
        info = fdinfo(fd)
        m = mmap.mmap(fd, size)
        sync(fd, SYNC_READ)
        data = m[:size]
        sync(fd, SYNC_READ | SYNC_END)
        ok = data.count(meta['fill']) == size
        if 'marker' in meta:
            sync(fd, SYNC_WRITE)
            m[0:size] = bytes([meta['marker']]) * size
            sync(fd, SYNC_WRITE | SYNC_END)
        m.close()
        results.append({'ok': ok, 'size': size, 'exporter': info.get('exp_name'), 'name': info.get('name')})
    for fd in fds:
        os.close(fd)
    send_frame({'op': 'consumed', 'results': results})

def produce(msg):
    heap = os.open('/dev/dma_heap/system', os.O_RDONLY | os.O_CLOEXEC)
    for i in range(msg['count']):
        data = bytearray(struct.pack('<QIIQ', msg['size'], 0, os.O_RDWR | os.O_CLOEXEC, 0))
        fcntl.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, data)
        fd = struct.unpack('<QIIQ', data)[1]
        name = f"{msg['name']}-{i}"
        fcntl.ioctl(fd, DMA_BUF_SET_NAME_B, name.encode() + b'\0')
        m = mmap.mmap(fd, msg['size'])
        sync(fd, SYNC_WRITE)
        m[:] = bytes([msg['fill']]) * msg['size']
        sync(fd, SYNC_WRITE | SYNC_END)
        m.close()
        send_frame({'dmaheap': 1, 'buffers': [{'fd': 0, 'size': msg['size'], 'name': name}], 'meta': {'i': i}}, [fd])
        os.close(fd)
    os.close(heap)

while True:
    msg, fds = recv_frame()
    if msg is None:
        break
    op = msg.get('meta', {}).get('op') if 'dmaheap' in msg else msg['op']
    if op == 'hello':
        send_frame({'op': 'hello', 'fds': fd_count(), 'pid': os.getpid()})
    elif op == 'consume':
        consume(msg, fds)
    elif op == 'produce':
        produce(msg)
    elif op == 'too-many-fds':
        spare = os.memfd_create('spare')
        send_frame({'op': 'too-many'}, [spare] * msg['n'])
        send_frame({'op': 'after'})
        os.close(spare)
    elif op == 'die-mid-frame':
        spare = os.memfd_create('spare')
        body = json.dumps({'op': 'never finished', 'pad': 'x' * 100}).encode()
        socket.send_fds(sock, [struct.pack('<I', len(body)) + body[:10]], [spare])
        os._exit(0)
    elif op == 'bye':
        send_frame({'op': 'bye', 'fds': fd_count()})
        break
