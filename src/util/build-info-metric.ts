// The conventional `*_build_info` gauge: always 1, its labels say which
// meshlite and which Node.js are running, so dashboards can join on them.
import { Gauge, type Registry } from 'prom-client';
import { meshliteVersion } from './meshlite-version.js';

export function registerBuildInfo(registry: Registry, name: string): void {
  const gauge = new Gauge({
    name,
    help: 'Always 1; the labels name the meshlite version and the Node.js version running it',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  gauge.set({ version: meshliteVersion(), node_version: process.versions.node }, 1);
}
