// ML02xx: selectors that pick no workload.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  analyze,
  authorizationPolicy,
  BASE,
  codes,
  gateway,
  peerAuthentication,
  requestAuthentication,
  service,
  sidecar,
} from './analyze-fixtures.js';

const selecting = (app: string) => ({ selector: { matchLabels: { app } } });

test('ML0201: PeerAuthentication, AuthorizationPolicy, RequestAuthentication and Sidecar selecting nothing', () => {
  const findings = analyze(
    ...BASE,
    peerAuthentication('pa', 'bar', { ...selecting('httpbn'), mtls: { mode: 'STRICT' } }),
    authorizationPolicy('ap', 'bar', { ...selecting('httpbn'), action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }),
    requestAuthentication('ra', 'bar', { ...selecting('httpbn'), jwtRules: [{ issuer: 'me', jwks: '{"keys":[]}' }] }),
    sidecar('sc', 'bar', { workloadSelector: { labels: { app: 'httpbn' } }, egress: [{ hosts: ['./*'] }] }),
  );
  assert.equal(codes(findings), ['ML0201', 'ML0201', 'ML0201', 'ML0201']);
  assert.equal(
    findings.map((f) => `${f.kind} ${f.field}`),
    [
      'PeerAuthentication spec.selector.matchLabels',
      'AuthorizationPolicy spec.selector.matchLabels',
      'RequestAuthentication spec.selector.matchLabels',
      'Sidecar spec.workloadSelector.labels',
    ],
  );
  assert.match(findings[1]!.message, /app=httpbn.*DENY rules protect no workload/);
});

test('ML0201 negatives: a matching selector, a selector in another namespace than the workload only from the root namespace', () => {
  assert.equal(codes(analyze(...BASE, peerAuthentication('pa', 'bar', { ...selecting('httpbin'), mtls: { mode: 'STRICT' } }))), []);
  const deny = { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] };
  assert.equal(codes(analyze(...BASE, authorizationPolicy('ap', 'istio-system', { ...selecting('httpbin'), ...deny }))), []);
  assert.equal(codes(analyze(...BASE, authorizationPolicy('ap', 'foo', { ...selecting('httpbin'), ...deny }))), ['ML0201']);
});

test('ML0201: a WorkloadGroup template counts as a workload (agents register from it)', () => {
  const group = [
    'apiVersion: networking.istio.io/v1',
    'kind: WorkloadGroup',
    'metadata: {name: late, namespace: bar}',
    'spec:',
    '  metadata: {labels: {app: late}}',
    '  template: {serviceAccount: late}',
    '',
  ].join('\n');
  const pa = peerAuthentication('pa', 'bar', { ...selecting('late'), mtls: { mode: 'STRICT' } });
  assert.equal(codes(analyze(...BASE, group, pa)), []);
  assert.equal(codes(analyze(...BASE, pa)), ['ML0201']);
});

test('ML0202: a Gateway whose selector picks no workload; ML0203: a ServiceEntry selecting none', () => {
  const gw = (app: string) =>
    gateway('gw', 'bar', { selector: { app }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] });
  const vs = [
    'apiVersion: networking.istio.io/v1',
    'kind: VirtualService',
    'metadata: {name: vs, namespace: bar}',
    'spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: httpbin}}]}]}',
    '',
  ].join('\n');
  assert.equal(codes(analyze(...BASE, gw('ingress'), vs)), ['ML0202']);
  assert.equal(codes(analyze(...BASE, gw('httpbin'), vs)), []);
  const findings = analyze(...BASE, service('ghost', 'bar'));
  assert.equal(codes(findings), ['ML0203']);
  assert.match(findings[0]!.message, /503/);
});

test.run();
