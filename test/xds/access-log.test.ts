// Where the translator puts the MeshConfig's access log: on every HTTP
// connection manager and tcp_proxy of sidecars (inbound and outbound, both
// interception modes) and gateways, never on the health probe listener, and
// nowhere at all without accessLogFile.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { meshProxies, Translator } from '../../src/translate/translator.js';
import { DEFAULT_JSON_FORMAT, DEFAULT_TEXT_FORMAT } from '../../src/xds/access-log.js';
import type { Listener } from '../../src/xds/envoy-types/index.js';
import { loadProbeMesh } from '../support/fixtures/health-probe-mesh.js';
import { EXAMPLES_DIR } from '../support/paths.js';

type Obj = Record<string, any>;
const LOGGING = ['envoy.filters.network.http_connection_manager', 'envoy.filters.network.tcp_proxy'];

/** The access-logs example, its MeshConfig replaced by `mesh` (none: no MeshConfig). */
function exampleListeners(mesh?: string): Record<string, Listener[]> {
  const dir = join(EXAMPLES_DIR, 'access-logs');
  const texts = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'mesh.yaml')
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const loaded = loadMeshTexts(mesh ? [...texts, { name: 'mesh.yaml', text: mesh }] : texts);
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  const model = buildMeshModel(loaded.config);
  const translator = new Translator(model);
  const out: Record<string, Listener[]> = {};
  for (const { workload } of meshProxies(model)) {
    const result = translator.translate(workload.id);
    if (!result.ok) throw new Error(result.error);
    out[workload.id] = result.resources.listeners;
  }
  return out;
}

const meshConfig = (spec: string) => `apiVersion: meshlite.io/v1alpha1
kind: MeshConfig
metadata: {name: mesh}
spec:
${spec.replace(/^/gm, '  ')}`;

/** `listener/filter` -> its access_log, for every HCM and tcp_proxy. */
function logsByFilter(listeners: readonly Listener[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const l of listeners)
    for (const [i, chain] of (l.filter_chains ?? []).entries())
      for (const f of chain.filters ?? [])
        if (LOGGING.includes(String(f.name))) out[`${l.name}#${i}/${f.name}`] = (f.typed_config as Obj).access_log;
  return out;
}

/** The command operators of a format, `NAME` or `NAME(param)`. */
const operatorsOf = (format: string) => [...format.matchAll(/%([A-Z][A-Z0-9_]*(?:\([^)]*\))?)(?::\d+)?%/g)].map((m) => m[1]!);

const fileLog = (path: string, logFormat: Obj) => [
  {
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path, log_format: logFormat },
  },
];
const streamLog = (stream: 'stdout' | 'stderr', logFormat: Obj) => [
  {
    name: `envoy.access_loggers.${stream}`,
    typed_config: {
      '@type': `type.googleapis.com/envoy.extensions.access_loggers.stream.v3.${stream === 'stdout' ? 'Stdout' : 'Stderr'}AccessLog`,
      log_format: logFormat,
    },
  },
];

test('JSON: every HCM and tcp_proxy of every sidecar and the gateway logs the default fields to the file', () => {
  const proxies = exampleListeners(meshConfig('accessLogFile: /var/log/mesh.log\naccessLogEncoding: JSON'));
  assert.equal(Object.keys(proxies).sort(), ['frontend.shop', 'ingressgateway.shop', 'ledger.shop', 'orders.shop']);
  const expected = fileLog('/var/log/mesh.log', { json_format: DEFAULT_JSON_FORMAT });
  const kinds = new Set<string>();
  for (const [proxy, listeners] of Object.entries(proxies)) {
    const logs = logsByFilter(listeners);
    assert.ok(Object.keys(logs).length > 0, proxy);
    for (const [where, log] of Object.entries(logs)) {
      assert.equal(log, expected, `${proxy} ${where}`);
      kinds.add(`${proxy.split('.')[0]}:${where.split('/')[1]}`);
    }
  }
  // Inbound HTTP and TCP, outbound HTTP proxy and TCP port, the gateway's HCM.
  assert.equal([...kinds].sort(), [
    'frontend:envoy.filters.network.http_connection_manager',
    'frontend:envoy.filters.network.tcp_proxy',
    'ingressgateway:envoy.filters.network.http_connection_manager',
    'ledger:envoy.filters.network.http_connection_manager',
    'ledger:envoy.filters.network.tcp_proxy',
    'orders:envoy.filters.network.http_connection_manager',
    'orders:envoy.filters.network.tcp_proxy',
  ]);
});

test("TEXT: the default line, or the custom format; /dev/stdout and /dev/stderr are Envoy's stream loggers; no accessLogFile: no access_log anywhere", () => {
  for (const listeners of Object.values(exampleListeners(meshConfig('accessLogFile: /dev/stdout'))))
    for (const log of Object.values(logsByFilter(listeners)))
      assert.equal(log, streamLog('stdout', { text_format_source: { inline_string: DEFAULT_TEXT_FORMAT } }));
  const custom = exampleListeners(meshConfig('accessLogFile: /tmp/a.log\naccessLogFormat: "%RESPONSE_CODE% %DURATION%"'));
  for (const log of Object.values(logsByFilter(custom['orders.shop']!)))
    assert.equal(log, fileLog('/tmp/a.log', { text_format_source: { inline_string: '%RESPONSE_CODE% %DURATION%\n' } }));
  const stderr = exampleListeners(meshConfig('accessLogFile: /dev/stderr\naccessLogEncoding: JSON'));
  for (const log of Object.values(logsByFilter(stderr['ledger.shop']!)))
    assert.equal(log, streamLog('stderr', { json_format: DEFAULT_JSON_FORMAT }));
  for (const listeners of Object.values(exampleListeners())) assert.not.match(JSON.stringify(listeners), /access_log/);
  for (const listeners of Object.values(exampleListeners(meshConfig('accessLogEncoding: JSON'))))
    assert.not.match(JSON.stringify(listeners), /access_log/);
});

test('TRANSPARENT sidecar: virtualOutbound and the per-port listeners log too; the health probe listener does not', () => {
  const loaded = loadProbeMesh({
    interceptionMode: 'TRANSPARENT',
    probes: JSON.stringify({ port: 15021, paths: { '/app-health/web/readyz': { port: 8080, path: '/ready' } } }),
    extra: meshConfig('accessLogFile: /dev/stdout'),
  });
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  const result = new Translator(buildMeshModel(loaded.config)).translate('web.shop');
  if (!result.ok) throw new Error(result.error);
  const probe = result.resources.listeners.filter((l) => String(l.name).startsWith('health-probes_'));
  assert.is(probe.length, 1);
  assert.not.match(JSON.stringify(probe), /access_log/);
  const logged = Object.keys(logsByFilter(result.resources.listeners.filter((l) => !probe.includes(l))));
  assert.ok(
    logged.some((w) => w.startsWith('virtualOutbound#')),
    logged.join(', '),
  );
  assert.ok(
    logged.some((w) => w.startsWith('virtualInbound#')),
    logged.join(', '),
  );
  for (const where of logged) assert.ok(logsByFilter(result.resources.listeners)[where], where);
});

test('the default TEXT line holds the fields of the JSON default, which cover what an operator needs to know', () => {
  const json = Object.values(DEFAULT_JSON_FORMAT).flatMap(operatorsOf).sort();
  assert.equal(operatorsOf(DEFAULT_TEXT_FORMAT).sort(), json);
  assert.ok(DEFAULT_TEXT_FORMAT.endsWith('\n'));
  for (const required of [
    'START_TIME',
    'REQ(:METHOD)',
    'PROTOCOL',
    'RESPONSE_CODE',
    'RESPONSE_FLAGS',
    'RESPONSE_CODE_DETAILS',
    'CONNECTION_TERMINATION_DETAILS',
    'DOWNSTREAM_PEER_URI_SAN',
    'DOWNSTREAM_LOCAL_URI_SAN',
    'UPSTREAM_CLUSTER',
    'UPSTREAM_HOST',
    'BYTES_RECEIVED',
    'BYTES_SENT',
    'DURATION',
    'REQ(:AUTHORITY)',
    'REQ(X-REQUEST-ID)',
  ])
    assert.ok(json.includes(required), required);
});

test.run();
