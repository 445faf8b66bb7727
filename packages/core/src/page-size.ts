// The system's page size without native code: the kernel hands it to every process in its auxiliary vector
// (AT_PAGESZ in /proc/self/auxv). 4 KiB on x86; 4, 16 or 64 KiB on arm64, depending on the kernel.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** The page size from an auxiliary vector (pairs of machine words), or undefined when it has none. */
export function pageSizeFromAuxv(auxv: Buffer, wordBytes: 4 | 8 = 8, littleEndian = endianness() === 'LE'): number | undefined {
  const word = (at: number): number =>
    wordBytes === 8
      ? Number(littleEndian ? auxv.readBigUInt64LE(at) : auxv.readBigUInt64BE(at))
      : littleEndian
        ? auxv.readUInt32LE(at)
        : auxv.readUInt32BE(at);
  for (let at = 0; at + 2 * wordBytes <= auxv.length; at += 2 * wordBytes) {
    const type = word(at);
    if (type === AT_NULL) break;
    if (type === AT_PAGESZ) return word(at + wordBytes);
  }
  return undefined;
}

function readPageSize(): number {
  try {
    const wordBytes = ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(process.arch) ? 4 : 8;
    return pageSizeFromAuxv(readFileSync('/proc/self/auxv'), wordBytes) ?? 4096;
  } catch {
    return 4096; // no /proc: the most common page size
  }
}

/** The system page size in bytes (AT_PAGESZ). */
export const PAGE_SIZE: number = readPageSize();
