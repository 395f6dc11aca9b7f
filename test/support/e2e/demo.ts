// `npm run demo`: the S1 world running on this host, the same one the e2e
// tests drive: meshlite, four Envoy sidecars, httpbin and sleep in foo, bar
// (sidecars) and legacy (none). Prints the call matrix, then keeps everything
// running until Ctrl-C (or SIGTERM), which the process manager turns into a
// graceful stop of every child and the removal of the temp directory (it
// holds the CA key and the token key).
import { NAMESPACES, xfccOf } from './client.js';
import { ProcessManager } from './process-manager.js';
import { startWorld } from './world.js';

const pm = new ProcessManager('demo');
async function stop(code: number): Promise<never> {
  await pm.stopAll();
  pm.removeDir();
  process.exit(code);
}

try {
  process.stdout.write('starting meshlite, 4 Envoy sidecars and 6 apps on loopback (S1: foo and bar with sidecars, legacy without)...\n');
  const world = await startWorld(pm);
  process.stdout.write(`\ncurl codes, sleep.<from> -> http://httpbin.<to>:8000/headers (identity seen by httpbin):\n\n`);
  process.stdout.write(`  ${'from \\ to'.padEnd(10)}${NAMESPACES.map((n) => n.padEnd(8)).join('')}\n`);
  for (const from of NAMESPACES) {
    const row: string[] = [];
    const ids: string[] = [];
    for (const to of NAMESPACES) {
      const r = await world.call(from, to, '/headers');
      row.push(r.code.padEnd(8));
      const uri = /URI=([^;,"]+)/.exec(xfccOf(r.body) ?? '')?.[1];
      ids.push(`${to}: ${uri ?? 'plaintext'}`);
    }
    process.stdout.write(`  ${from.padEnd(10)}${row.join('')}  ${ids.join(', ')}\n`);
  }
  const admin = world.meshlite.adminUrl;
  process.stdout.write(`
meshlite admin:   ${admin}/debug/syncz  ${admin}/debug/authenticationz  ${admin}/metrics
Envoy admins:     ${world.sidecarProxies.map((p) => `${p} ${world.envoy(p).adminUrl}`).join(', ')}
Config (edit it live, e.g. copy examples/s2-mesh-strict/peer-authentication.yaml in): ${world.cfg.dir}
Call through a sidecar yourself:  curl -x http://${world.workload('sleep.foo').address}:15001 http://httpbin.bar:8000/headers
Logs: ${pm.dir}
Ctrl-C stops everything.
`);
  await new Promise(() => {});
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  pm.printTails();
  await stop(1);
}
