import { PagePool } from '@dmaheap/pagepool';
const pool = new PagePool({ orders: [8, 4, 0], pageSize: 4096, release() {}, pressure: false });
pool.put({ o: 0 }, 0);
const orders = [8, 4, 0];
const bytesOf = [4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576];
const t = (name, f) => { let best = Infinity; for (let r = 0; r < 10; r++) { const t0 = process.hrtime.bigint(); for (let i = 0; i < 20000; i++) f(); best = Math.min(best, Number(process.hrtime.bigint() - t0) / 20000); } console.log(name, best.toFixed(0), 'ns'); };
t('loop 2**', () => { let n = 0; for (let i = 0; i < orders.length; i++) { if (4096 * 2 ** orders[i] > 4096) continue; n++; } return n; });
t('loop table', () => { let n = 0; for (let i = 0; i < orders.length; i++) { if (bytesOf[orders[i]] > 4096) continue; n++; } return n; });
t('for-of 1', () => { let n = 0; for (const o of [1]) n += o; return n; });
t('try/catch', () => { try { return pool.get(0); } catch (e) { throw e; } finally { pool.put({ o: 0 }, 0); } });
class A { #x = 1; #m(o) { return 4096 * 2 ** o; } f() { return this.#m(0) + this.#x; } }
const a = new A();
t('private method', () => a.f());
t('object literal 6', () => { const init = { fd: 1, size: 2, ops: null, name: undefined, skip: true, release: null }; return { fd: init.fd, size: init.size, ops: init.ops, name: init.name, skip: init.skip, heap: 1, release: () => 1 }; });
t('object spread 6', () => { const init = { fd: 1, size: 2, ops: null, name: undefined, skip: true, release: null }; return { ...init, heap: 1, release: () => 1 }; });
t('Object.assign', () => { const init = { fd: 1, size: 2, ops: null, name: undefined, skip: true, release: null }; return Object.assign({}, init, { heap: 1, release: () => 1 }); });
