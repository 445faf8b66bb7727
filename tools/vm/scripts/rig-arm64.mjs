// The rig's addon for the arm64 guest, cross-compiled with Debian's gcc-aarch64-linux-gnu (scripts/bootstrap.sh
// installs it): build/arm64/dmaheap_rig.node beside node-gyp's build/Release one for this machine.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const pkg = join(import.meta.dirname, '..');
const nodedir = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath));
const headers = [join(nodedir, 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));
if (!headers) throw new Error(`no Node headers under ${nodedir}/include/node`);
mkdirSync(join(pkg, 'build', 'arm64'), { recursive: true });
execFileSync('aarch64-linux-gnu-gcc', [
  '-shared', '-fPIC', '-O2', '-std=gnu11', '-Wall', '-Wextra', '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=dmaheap_rig',
  `-I${headers}`, join(pkg, 'rig', 'ioctl.c'), join(pkg, 'rig', 'seed.c'), '-o', join(pkg, 'build', 'arm64', 'dmaheap_rig.node'),
], { stdio: 'inherit' });
