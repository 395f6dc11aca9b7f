// ML04xx: identities written so they never match, and policies placed on
// gateways where what they set does not apply.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfigTexts } from '../../src/config/load-texts.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { translate } from '../../src/translate/translator.js';
import { principalIds } from '../../src/xds/rbac-matchers.js';
import { analyze, authorizationPolicy, BASE, codes, gateway, peerAuthentication, virtualService, workload } from './analyze-fixtures.js';

const allowFrom = (source: Record<string, unknown>, action = 'ALLOW') =>
  authorizationPolicy('ap', 'bar', { selector: { matchLabels: { app: 'httpbin' } }, action, rules: [{ from: [{ source }] }] });

test('the translation really turns a spiffe:// principal into spiffe://spiffe://... (what ML0401 says)', () => {
  const [built] = principalIds('spiffe://cluster.local/ns/foo/sa/sleep', ['cluster.local']);
  assert.equal(built, { authenticated: { principal_name: { exact: 'spiffe://spiffe://cluster.local/ns/foo/sa/sleep' } } });
});

test('ML0401: a principal with the spiffe:// scheme is an Error at the value, with the fixed value in the message', () => {
  const findings = analyze(...BASE, allowFrom({ principals: ['spiffe://cluster.local/ns/foo/sa/sleep'] }));
  assert.equal(codes(findings), ['ML0401']);
  assert.is(findings[0]!.severity, 'Error');
  assert.is(findings[0]!.field, 'spec.rules[0].from[0].source.principals[0]');
  assert.match(findings[0]!.message, /Write "cluster\.local\/ns\/foo\/sa\/sleep"/);
  const deny = analyze(...BASE, allowFrom({ principals: ['spiffe://cluster.local/ns/foo/sa/sleep'] }, 'DENY'));
  assert.match(deny[0]!.message, /this DENY never denies/);
  const condition = authorizationPolicy('ap', 'bar', {
    action: 'ALLOW',
    rules: [{ when: [{ key: 'source.principal', values: ['spiffe://cluster.local/ns/foo/sa/sleep'] }] }],
  });
  assert.equal(codes(analyze(...BASE, condition)), ['ML0401']);
  assert.equal(codes(analyze(...BASE, allowFrom({ principals: ['cluster.local/ns/foo/sa/sleep'] }))), []);
});

test('ML0402: namespaces, principals and service accounts naming a namespace nothing is in; none for known ones or wildcards', () => {
  const findings = analyze(
    ...BASE,
    authorizationPolicy('ap', 'bar', {
      action: 'ALLOW',
      rules: [
        { from: [{ source: { namespaces: ['fo'] } }] },
        { from: [{ source: { principals: ['cluster.local/ns/fooo/sa/sleep'] } }] },
        { from: [{ source: { serviceAccounts: ['foox/sleep'] } }] },
      ],
    }),
  );
  assert.equal(
    findings.map((f) => `${f.code} ${f.field}`),
    [
      'ML0402 spec.rules[0].from[0].source.namespaces[0]',
      'ML0402 spec.rules[1].from[0].source.principals[0]',
      'ML0402 spec.rules[2].from[0].source.serviceAccounts[0]',
    ],
  );
  const fine = authorizationPolicy('ap', 'bar', {
    action: 'ALLOW',
    rules: [
      { from: [{ source: { namespaces: ['foo', 'ba*'] } }] },
      { from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] },
    ],
  });
  assert.equal(codes(analyze(...BASE, fine)), []);
});

const INGRESS = workload('ingress', 'bar', { app: 'ingress' }, {}, false);
const server = (tls?: Record<string, unknown>) => ({
  port: { number: 8443, name: tls ? 'https' : 'http', protocol: tls ? 'HTTPS' : 'HTTP' },
  hosts: ['www.example.com'],
  ...(tls ? { tls } : {}),
});
const ROUTES = virtualService('vs', 'bar', {
  hosts: ['www.example.com'],
  gateways: ['gw'],
  http: [{ route: [{ destination: { host: 'httpbin' } }] }],
});
const gatewayPolicy = authorizationPolicy('gw-ap', 'bar', {
  selector: { matchLabels: { app: 'ingress' } },
  action: 'ALLOW',
  rules: [{ from: [{ source: { namespaces: ['foo'] } }] }],
});

test('ML0403: peer identities in a policy on gateways none of whose servers asks for a client certificate', () => {
  const plain = gateway('gw', 'bar', { selector: { app: 'ingress' }, servers: [server()] });
  const findings = analyze(...BASE, INGRESS, plain, ROUTES, gatewayPolicy);
  assert.equal(codes(findings), ['ML0403']);
  assert.is(findings[0]!.field, 'spec.rules[0].from[0].source.namespaces');
  assert.match(findings[0]!.message, /requests are denied/);
  const mutual = gateway('gw', 'bar', {
    selector: { app: 'ingress' },
    servers: [server({ mode: 'MUTUAL', credentialName: 'www-cert' })],
  });
  assert.equal(codes(analyze(...BASE, INGRESS, mutual, ROUTES, gatewayPolicy)), []);
  const onSidecar = allowFrom({ namespaces: ['foo'] });
  assert.equal(codes(analyze(...BASE, INGRESS, plain, ROUTES, onSidecar)), []);
});

test('ML0404: a PeerAuthentication on gateway workloads only; none when it selects a sidecar', () => {
  const gw = gateway('gw', 'bar', { selector: { app: 'ingress' }, servers: [server()] });
  const pa = (app: string) => peerAuthentication('pa', 'bar', { selector: { matchLabels: { app } }, mtls: { mode: 'STRICT' } });
  const findings = analyze(...BASE, INGRESS, gw, ROUTES, pa('ingress'));
  assert.equal(codes(findings), ['ML0404']);
  assert.is(findings[0]!.field, 'spec.mtls.mode');
  assert.equal(codes(analyze(...BASE, INGRESS, gw, ROUTES, pa('httpbin'))), []);
});

test('what ML0404 says: the gateway proxy gets the same resources with and without the PeerAuthentication', () => {
  const gw = gateway('gw', 'bar', { selector: { app: 'ingress' }, servers: [server()] });
  const pa = peerAuthentication('pa', 'bar', {
    selector: { matchLabels: { app: 'ingress' } },
    mtls: { mode: 'STRICT' },
    portLevelMtls: { 8443: { mode: 'DISABLE' } },
  });
  const resources = (...docs: string[]) => {
    const loaded = loadConfigTexts([{ name: 't.yaml', text: docs.join('---\n') }]);
    assert.ok(loaded.ok);
    const result = translate(buildMeshModel(loaded.config), 'ingress.bar');
    assert.ok(result.ok && result.kind === 'gateway');
    return result.resources;
  };
  const without = resources(...BASE, INGRESS, gw, ROUTES);
  assert.ok(without.listeners.length > 0, 'the gateway has listeners');
  assert.equal(resources(...BASE, INGRESS, gw, ROUTES, pa), without);
});

test.run();
