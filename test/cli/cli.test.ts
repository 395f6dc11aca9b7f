// The meshlite command as a user runs it: a real child process, real files.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { createMeshliteState } from '../support/meshlite-state.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
function meshlite(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
type Obj = Record<string, any>;

test('generate: under S3 with the DISABLE rule, sleep.foo reaches httpbin.bar with no transport socket', () => {
  const r = meshlite('generate', '-c', 'examples/s3-dr-disable', '--proxy', 'sleep.foo', '--type', 'clusters');
  assert.is(r.code, 0, r.stderr);
  const clusters = (JSON.parse(r.stdout).dynamic_active_clusters as Obj[]).map((c) => c.cluster);
  const bar = clusters.find((c) => c.name === 'outbound|8000||httpbin.bar.svc.cluster.local');
  assert.ok(bar, 'cluster for httpbin.bar');
  assert.is(bar.transport_socket, undefined);
  assert.is(bar.transport_socket_matches, undefined);
  const foo = clusters.find((c) => c.name === 'outbound|8000||httpbin.foo.svc.cluster.local');
  assert.ok(foo.transport_socket_matches, 'other services keep auto mTLS');
});

test('generate: httpbin.bar under S3 accepts only TLS on port 80 (yaml output)', () => {
  const r = meshlite('generate', '-c', 'examples/s3-dr-disable', '--proxy', 'httpbin.bar', '--type', 'listeners', '-o', 'yaml');
  assert.is(r.code, 0, r.stderr);
  const listeners = (parse(r.stdout).dynamic_listeners as Obj[]).map((l) => l.active_state.listener);
  const inbound = listeners.filter((l) => l.traffic_direction === 'INBOUND');
  assert.is(inbound.length, 1);
  assert.equal(
    inbound[0].filter_chains.map((c: Obj) => c.filter_chain_match),
    [{ destination_port: 80, transport_protocol: 'tls' }],
  );
  assert.is(inbound[0].filter_chains[0].transport_socket.typed_config.require_client_certificate, true);
});

test('generate: full dump has the five config_dump sections in Envoy order', () => {
  const r = meshlite('generate', '-c', 'examples/s1-auto-mtls', '--proxy', 'httpbin.foo');
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    JSON.parse(r.stdout).configs.map((c: Obj) => c['@type'].split('.').pop()),
    ['ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump'],
  );
});

test('generate --type view: the resolved view, with peer modes, clusters and secret references as data', () => {
  const r = meshlite('generate', '-c', 'examples/s3-dr-disable', '--proxy', 'httpbin.bar', '--type', 'view');
  assert.is(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout);
  assert.is(view.kind, 'sidecar');
  assert.equal(
    view.inbound.map((p: Obj) => [p.targetPort, p.mode, p.cluster]),
    [[80, 'STRICT', 'inbound|80||']],
  );
  assert.equal(
    view.secrets.map((s: Obj) => `${s.kind}:${s.name}`),
    ['root-ca:ROOTCA', 'workload-cert:default'],
  );
});

test('generate: unknown proxy and a workload without sidecar are clear errors', () => {
  const unknown = meshlite('generate', '-c', 'examples/s1-auto-mtls', '--proxy', 'nope.foo');
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'no workload "nope.foo"');
  const legacy = meshlite('generate', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.legacy');
  assert.is(legacy.code, 1);
  assert.match(legacy.stderr, 'runs no sidecar');
});

test('validate: good config exits 0; broken config exits 1 listing every error with file:line:col', () => {
  const ok = meshlite('validate', '-c', 'examples/s3-dr-disable');
  assert.is(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^ok: 11 resources \(3 ServiceEntry, 6 WorkloadEntry, 1 PeerAuthentication, 1 DestinationRule\) in 4 file\(s\)\n$/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-cli-'));
  try {
    writeFileSync(
      join(dir, 'broken.yaml'),
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec:
  mtsl:
    mode: STRICT
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d, namespace: foo}
spec:
  host: x
  trafficPolicy:
    tls: {mode: MUTAL}
`,
    );
    writeFileSync(join(dir, 'syntax.yaml'), 'kind: [unclosed\n');
    const bad = meshlite('validate', '-c', dir);
    assert.is(bad.code, 1);
    const lines = bad.stderr.trim().split('\n');
    assert.equal(lines, [
      `${join(dir, 'broken.yaml')}:5:3: spec.mtsl: unknown field "mtsl" (did you mean "mtls"?)`,
      `${join(dir, 'broken.yaml')}:14:17: spec.trafficPolicy.tls.mode: invalid value "MUTAL"; expected one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL`,
      lines[2]!,
      '3 error(s)',
    ]);
    assert.match(lines[2]!, /syntax\.yaml:\d+:\d+: invalid YAML: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: two sidecars given one outbound address:port is an error naming both (and generate refuses the config too)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-cli-'));
  try {
    cpSync(join(REPO_ROOT, 'examples/s1-auto-mtls'), dir, { recursive: true });
    const file = join(dir, 'workloads.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'sidecar.meshlite.io/outboundAddress: 127.0.2.2',
        'sidecar.meshlite.io/outboundAddress: 127.0.1.2',
      ),
    );
    const bad = meshlite('validate', '-c', dir);
    assert.is(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n'), [
      `${file}:44:1: metadata.annotations["sidecar.meshlite.io/outboundAddress"]: sidecar sleep.bar's outbound HTTP proxy listener on 127.0.1.2:15001 ` +
        '(sidecar.meshlite.io/outboundAddress: 127.0.1.2; sidecar.meshlite.io/outboundPort not set, default 15001) collides with ' +
        "sidecar sleep.foo's outbound HTTP proxy listener on 127.0.1.2:15001 (sidecar.meshlite.io/outboundAddress: 127.0.1.2; sidecar.meshlite.io/outboundPort not set, default 15001), " +
        `defined at ${file}:18: Envoy binds with SO_REUSEPORT, so both proxies would listen there and connections would be split between them; give each its own address or port`,
      '1 error(s)',
    ]);
    const generate = meshlite('generate', '-c', dir, '--proxy', 'sleep.foo');
    assert.is(generate.code, 1);
    assert.match(generate.stderr, "sidecar sleep.bar's outbound HTTP proxy listener on 127.0.1.2:15001");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: a dry-run annotation that is not a boolean is refused with file:line and the annotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-cli-'));
  try {
    const file = join(dir, 'shadow.yaml');
    writeFileSync(
      file,
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: shadow\n  namespace: foo\n  annotations: {istio.io/dry-run: "yes"}\nspec: {}\n',
    );
    const r = meshlite('validate', '-c', dir);
    assert.is(r.code, 1);
    assert.equal(r.stderr.trim().split('\n'), [
      `${file}:6:35: metadata.annotations["istio.io/dry-run"]: expected a boolean ("true" or "false"), got "yes"`,
      '1 error(s)',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: a path that does not exist is an error, not a crash', () => {
  const r = meshlite('validate', '-c', 'examples/no-such-dir');
  assert.is(r.code, 1);
  assert.equal(r.stderr.trim().split('\n'), ['examples/no-such-dir: no such file or directory', '1 error(s)']);
});

test('bootstrap works for a gateway workload and labels it as one; a workload meshlite does not serve is refused', async () => {
  const state = mkdtempSync(join(tmpdir(), 'meshlite-cli-state-'));
  try {
    await createMeshliteState(state);
    const gw = meshlite(
      'bootstrap',
      '-c',
      'examples/s6-ingress-mutual-tls',
      '--proxy',
      'ingressgateway.istio-system',
      '--state-dir',
      state,
    );
    assert.is(gw.code, 0, gw.stderr);
    const bootstrap = JSON.parse(gw.stdout);
    assert.equal(bootstrap.node.id, 'ingressgateway.istio-system');
    assert.equal(bootstrap.node.metadata, { MESHLITE: 'gateway', NAMESPACE: 'istio-system' });
    const legacy = meshlite('bootstrap', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.legacy', '--state-dir', state);
    assert.is(legacy.code, 1);
    assert.match(legacy.stderr, 'runs no sidecar and no Gateway selects it');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('describe and proxies summarise the demo', () => {
  const proxies = meshlite('proxies', '-c', 'examples/demo');
  assert.is(proxies.code, 0);
  assert.equal(
    proxies.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]),
    ['httpbin.bar', 'httpbin.foo', 'sleep.bar', 'sleep.foo'],
  );
  const describe = meshlite('describe', '-c', 'examples/s3-workload-strict', '--proxy', 'httpbin.bar');
  assert.is(describe.code, 0);
  assert.match(describe.stdout, 'inbound 127.0.2.1:80 -> app 127.0.12.1:80  HTTP  peer mTLS STRICT');
});

test('generate --type rbac: the policies that apply (with scope and source) and the filters enforcing them, HTTP and TCP', () => {
  const r = meshlite('generate', '-c', 'examples/authz-policy-kinds', '--proxy', 'echo.bar', '--type', 'rbac');
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Obj;
  assert.equal(
    report.authorizationPolicies.map((p: Obj) => `${p.policy} ${p.action} ${p.scope}`),
    [
      'bar/deny-admin DENY namespace',
      'bar/echo-allow ALLOW workload',
      'bar/echo-deny-foo DENY workload',
      'istio-system/audit-debug AUDIT mesh',
    ],
  );
  assert.match(report.authorizationPolicies[0].source, /^examples\/authz-policy-kinds\/policies\.yaml:\d+$/);
  const tcp = report.tcpFilters as Obj[];
  assert.equal(
    tcp.map((f) => [f.name, f.typed_config.rules.action ?? 'ALLOW']),
    [
      ['envoy.filters.network.rbac', 'LOG'],
      ['envoy.filters.network.rbac', 'DENY'],
      ['envoy.filters.network.rbac', 'ALLOW'],
    ],
  );
  assert.equal(
    Object.keys(tcp[2]!.typed_config.rules.policies),
    ['ns[bar]-policy[echo-allow]-rule[1]'],
    'the HTTP-only ALLOW rule is dropped on TCP',
  );
  assert.match(r.stderr, 'bar/echo-allow rule 0: rule dropped (allows less), cannot translate methods (HTTP-only on tcp)');
  const http = meshlite('generate', '-c', 'examples/authz-policy-kinds', '--proxy', 'httpbin.bar', '--type', 'rbac', '-o', 'yaml');
  assert.is(http.code, 0, http.stderr);
  const httpReport = parse(http.stdout) as Obj;
  assert.equal(
    (httpReport.httpFilters as Obj[]).map((f) => f.name),
    ['envoy.filters.http.jwt_authn', 'meshlite.rbac.audit', 'meshlite.rbac.deny', 'meshlite.rbac.allow'],
  );
  const perRoute = httpReport.httpRbacPerRoute as Obj;
  assert.equal(Object.keys(perRoute), ['meshlite.rbac.audit', 'meshlite.rbac.deny', 'meshlite.rbac.allow']);
  assert.equal(
    ['meshlite.rbac.audit', 'meshlite.rbac.deny', 'meshlite.rbac.allow'].map((k) => perRoute[k].rbac.rules.action ?? 'ALLOW'),
    ['LOG', 'DENY', 'ALLOW'],
  );
  assert.equal(Object.keys(perRoute['meshlite.rbac.allow'].rbac.rules.policies), ['ns[bar]-policy[httpbin-allow]-rule[0]']);
  const described = meshlite('describe', '-c', 'examples/authz-policy-kinds', '--proxy', 'echo.bar');
  assert.is(described.code, 0, described.stderr);
  assert.match(described.stdout, '  authorization DENY  bar/echo-deny-foo  workload, 1 rule(s)\n');
  assert.match(described.stdout, '  authorization AUDIT  istio-system/audit-debug  mesh, 1 rule(s)\n');
});

test.run();
