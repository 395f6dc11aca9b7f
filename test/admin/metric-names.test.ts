// The names meshlite and its agent expose to Prometheus: the Node.js process
// metrics carry one meshlite_ prefix (not meshlite_process_process_...), and
// both registries have a build_info gauge naming the package's version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '../../src/admin/metrics.js';
import { agentMetrics } from '../../src/agent/agent.js';
import type { CertificateManager } from '../../src/agent/certificate-manager.js';
import { meshliteVersion } from '../../src/util/meshlite-version.js';
import { REPO_ROOT } from '../support/paths.js';

const packageVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function metricNames(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

test('the version comes from package.json, for the metrics and for meshlite --version alike', () => {
  assert.is(meshliteVersion(), packageVersion);
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), '--version'], { encoding: 'utf8' });
  assert.is(cli.status, 0, cli.stderr);
  assert.is(cli.stdout.trim(), packageVersion);
});

test('control plane: process metrics read meshlite_process_* and meshlite_nodejs_*, once prefixed', async () => {
  const text = await new Metrics().registry.metrics();
  const names = metricNames(text);
  assert.ok(names.includes('meshlite_process_cpu_user_seconds_total'), names.join(' '));
  assert.ok(names.includes('meshlite_process_resident_memory_bytes') || process.platform !== 'linux');
  assert.ok(names.includes('meshlite_nodejs_heap_size_used_bytes'), names.join(' '));
  assert.equal(
    names.filter((n) => !n.startsWith('meshlite_') || n.includes('process_process') || n.startsWith('meshlite_process_nodejs')),
    [],
  );
});

test('control plane: meshlite_build_info is 1 with the version and the Node.js version', async () => {
  const text = await new Metrics().registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('meshlite_build_info{'));
  assert.is(line, `meshlite_build_info{version="${packageVersion}",node_version="${process.versions.node}"} 1`);
});

test('agent: meshlite_agent_build_info beside its own gauges', async () => {
  const certificates = { expiresInSeconds: () => 120 } as unknown as CertificateManager;
  const text = await agentMetrics(
    certificates,
    () => undefined,
    () => undefined,
  ).metrics();
  assert.ok(text.includes(`meshlite_agent_build_info{version="${packageVersion}",node_version="${process.versions.node}"} 1`), text);
  assert.ok(text.includes('meshlite_agent_certificate_expiry_seconds 120'), text);
  assert.equal(
    metricNames(text).filter((n) => !n.startsWith('meshlite_agent_')),
    [],
  );
});

test.run();
