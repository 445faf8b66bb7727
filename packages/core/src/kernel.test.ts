// The kernel facts' parsers and naming rules, over text and names as kernels give them (pure TypeScript).
import { describe, expect, it } from 'vitest';
import { cmaHeapNames, isUncachedHeapName, meminfoField, parseMeminfo } from './kernel.js';

const MEMINFO = `MemTotal:        3036208 kB
MemAvailable:    2811064 kB
CmaTotal:         262144 kB
CmaFree:          261120 kB
HugePages_Total:      64
Hugepagesize:       2048 kB
`;

describe('parseMeminfo', () => {
  it('kB fields in bytes, counts as they are', () => {
    const m = parseMeminfo(MEMINFO);
    expect(m.get('CmaTotal')).toBe(256 * 1024 * 1024);
    expect(m.get('HugePages_Total')).toBe(64);
    expect(m.get('Hugepagesize')).toBe(2 * 1024 * 1024);
    expect(meminfoField('MemAvailable', MEMINFO)).toBe(2811064 * 1024);
    expect(meminfoField('CmaFree', 'MemTotal: 1 kB\n')).toBeUndefined();
  });
});

describe('cmaHeapNames: which heaps are CMA heaps, the default area first', () => {
  it('6.12 with cma= on the command line: the heap "reserved", an area of that name', () => {
    expect(cmaHeapNames(['reserved', 'system'], ['reserved'])).toEqual(['reserved']);
  });
  it('a device-tree default area, areas not listed (no CMA_SYSFS, debugfs unmounted): by its default name', () => {
    expect(cmaHeapNames(['linux,cma', 'system'], undefined)).toEqual(['linux,cma']);
  });
  it("6.17: the default area's heap is default_cma_region, named after no area", () => {
    expect(cmaHeapNames(['default_cma_region', 'system'], ['reserved'])).toEqual(['default_cma_region']);
  });
  it('6.19: a heap per area, named after it; the default one first', () => {
    expect(cmaHeapNames(['camera', 'default_cma_region', 'display', 'system'], ['camera', 'display', 'reserved'])).toEqual([
      'default_cma_region',
      'camera',
      'display',
    ]);
  });
  it('no CMA: none, whatever the heaps are called', () => {
    expect(cmaHeapNames(['system', 'system-uncached'], undefined)).toEqual([]);
  });
});

describe('isUncachedHeapName', () => {
  it('the uncached variants (Android, vendors), not the cached heaps', () => {
    expect(['system-uncached', 'linux,cma-uncached', 'qcom_system_uncached'].map(isUncachedHeapName)).toEqual([true, true, true]);
    expect(['system', 'reserved', 'linux,cma', 'uncached-looking-name'].map(isUncachedHeapName)).toEqual([false, false, false, false]);
  });
});
