import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { danglingReferences, describeDangling, type SnapshotResources } from '../../src/cache/snapshot-consistency.js';
import { offlineSecretMaterial } from '../../src/translate/offline-secret-material.js';
import { translate } from '../../src/translate/translator.js';
import { typed } from '../../src/xds/common.js';
import type { Cluster, Listener, RouteConfiguration, Secret } from '../../src/xds/envoy-types/index.js';
import { EXT_AUTHZ_TYPE } from '../../src/xds/ext-authz.js';
import type { ProxyResources } from '../../src/xds/proxy-resources.js';
import { buildSecret, type SecretMaterial } from '../../src/xds/secret.js';
import { TYPE } from '../../src/xds/type-urls.js';
import { goldenTranslations } from '../support/golden-cases.js';
import { meshOf, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

/** Material for every secret a proxy can name, credentials included, so that each SDS reference must resolve. */
function everySecret(base: SecretMaterial): SecretMaterial {
  return {
    ...base,
    credentialCertificate: (name) => ({ certChainPem: `[${name} chain]`, privateKeyPem: '[redacted]' }),
    credentialCa: (name) => `[${name} CA]`,
  };
}

function withSecrets(resources: ProxyResources, material: SecretMaterial): SnapshotResources & Pick<ProxyResources, 'layers'> {
  const secrets = resources.secrets.map((ref) => buildSecret(ref, material)).filter((s): s is Secret => s !== undefined);
  return { ...resources, secrets };
}

test('every proxy of every golden scenario is consistent', () => {
  const golden = goldenTranslations();
  for (const { scenario, view, resources } of golden) {
    const snapshot = withSecrets(resources, everySecret(offlineSecretMaterial(view.proxy.identity)));
    assert.equal(danglingReferences(snapshot).map(describeDangling), [], `${scenario}/${view.proxy.id}`);
  }
  assert.ok(golden.length >= 50, `only ${golden.length} proxies checked`);
});

test('a proxy split into shared and own layers is judged as its whole lists are, whatever it lacks', () => {
  let compared = 0;
  for (const { scenario, view, resources } of goldenTranslations()) {
    const layers = resources.layers;
    if (!layers || layers.clusters.shared.length === 0) continue;
    const whole = withSecrets(resources, everySecret(offlineSecretMaterial(view.proxy.identity)));
    const [firstShared, ...restShared] = layers.clusters.shared;
    const variants: Record<string, SnapshotResources & Pick<ProxyResources, 'layers'>> = {
      'no endpoints': { ...whole, endpoints: [] },
      'no secrets': { ...whole, secrets: [] },
      'no routes': { ...whole, routes: [] },
      'a shared cluster gone': {
        ...whole,
        clusters: whole.clusters.filter((c) => c !== firstShared),
        layers: { ...layers, clusters: { shared: restShared, own: layers.clusters.own } },
      },
    };
    for (const [what, layered] of Object.entries(variants)) {
      const flat = danglingReferences({ ...layered, layers: undefined });
      assert.equal(danglingReferences(layered), flat, `${scenario}/${view.proxy.id}: ${what}`);
      compared += flat.length > 0 ? 1 : 0;
    }
  }
  assert.ok(compared >= 50, `only ${compared} inconsistent variants compared`);
});

// httpbin.bar: an HTTP service port in mesh mTLS (inbound RDS, SDS default/ROOTCA), and outbound EDS clusters.
const model = meshOf([
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
]);
const translated = translate(model, 'httpbin.bar');
if (!translated.ok) throw new Error(translated.error);
const consistent = withSecrets(translated.resources, offlineSecretMaterial(translated.view.proxy.identity));

test('the base set is consistent, and dropping what it references makes every reference to it dangle', () => {
  assert.equal(danglingReferences(consistent), []);
  const routes = danglingReferences({ ...consistent, routes: [] });
  assert.ok(routes.length > 0 && routes.every((d) => d.type === 'routes' && d.from.startsWith('listeners/')), JSON.stringify(routes));
  assert.equal(
    routes.map((d) => d.name).sort(),
    consistent.routes.map((r) => r.name),
  );
  const endpoints = danglingReferences({ ...consistent, endpoints: [] });
  assert.equal(
    endpoints.map((d) => [d.type, d.name, d.from]),
    consistent.endpoints.map((e) => ['endpoints', e.cluster_name, `clusters/${e.cluster_name}`]),
  );
  const notInbound = (c: Cluster) => !c.name!.startsWith('inbound|');
  const layers = consistent.layers!;
  const clusters = danglingReferences({
    ...consistent,
    clusters: consistent.clusters.filter(notInbound),
    layers: { ...layers, clusters: { shared: layers.clusters.shared, own: layers.clusters.own.filter(notInbound) } },
  });
  assert.equal(
    clusters.map(describeDangling),
    ['clusters "inbound|80||" (named by listeners/127.0.2.1_80)', 'clusters "inbound|80||" (named by routes/inbound|80||)'],
    "PERMISSIVE's TLS passthrough chain and the inbound route name the inbound cluster",
  );
});

test('an SDS secret the set lacks dangles from every TLS context naming it, unless it is left out on purpose', () => {
  const dangling = danglingReferences({ ...consistent, secrets: consistent.secrets.filter((s) => s.name !== 'ROOTCA') });
  assert.ok(dangling.length > 0);
  assert.ok(
    dangling.every((d) => d.type === 'secrets' && d.name === 'ROOTCA'),
    JSON.stringify(dangling),
  );
  assert.ok(dangling.some((d) => d.from.startsWith('listeners/')) && dangling.some((d) => d.from.startsWith('clusters/')));
  assert.equal(danglingReferences({ ...consistent, secrets: [] }, new Set(['default', 'ROOTCA'])), []);
});

const cluster = (name: string, extra: Cluster = {}): Cluster => ({ name, connect_timeout: '1s', ...extra });
const routesTo = (name: string, action: NonNullable<RouteConfiguration['virtual_hosts']>[number]['routes']): RouteConfiguration => ({
  name,
  virtual_hosts: [{ name, domains: ['*'], routes: action }],
});
const EMPTY: SnapshotResources = { clusters: [], endpoints: [], listeners: [], routes: [], secrets: [] };

test('routes: the cluster of a route, each weighted cluster and each mirror must exist', () => {
  const routes = [
    routesTo('r', [
      { match: { prefix: '/a' }, route: { cluster: 'a' } },
      {
        match: { prefix: '/b' },
        route: {
          weighted_clusters: {
            clusters: [
              { name: 'a', weight: 1 },
              { name: 'b', weight: 1 },
            ],
          },
        },
      },
      { match: { prefix: '/c' }, route: { cluster: 'a', request_mirror_policies: [{ cluster: 'mirror' }] } },
      { match: { prefix: '/d' }, direct_response: { status: 503 } },
    ]),
  ];
  assert.equal(danglingReferences({ ...EMPTY, routes, clusters: [cluster('a'), cluster('b'), cluster('mirror')] }), []);
  assert.equal(danglingReferences({ ...EMPTY, routes, clusters: [cluster('a')] }).map(describeDangling), [
    'clusters "b" (named by routes/r)',
    'clusters "mirror" (named by routes/r)',
  ]);
});

test('listeners: tcp_proxy clusters, ext_authz clusters (HTTP and network) and RDS names must exist', () => {
  const listener: Listener = {
    name: 'l',
    filter_chains: [
      { filters: [{ name: 'tcp', typed_config: typed(TYPE.tcpProxy, { stat_prefix: 's', cluster: 'tcp' }) }] },
      {
        filters: [
          {
            name: 'tcp-weighted',
            typed_config: typed(TYPE.tcpProxy, { stat_prefix: 's', weighted_clusters: { clusters: [{ name: 'w1', weight: 1 }] } }),
          },
        ],
      },
      {
        filters: [
          {
            name: 'authz',
            typed_config: typed(EXT_AUTHZ_TYPE.tcp, { stat_prefix: 's', grpc_service: { envoy_grpc: { cluster_name: 'grpc-authz' } } }),
          },
          {
            name: 'hcm',
            typed_config: typed(TYPE.httpConnectionManager, {
              stat_prefix: 's',
              rds: { route_config_name: 'rds' },
              http_filters: [
                {
                  name: 'authz',
                  typed_config: typed(EXT_AUTHZ_TYPE.http, {
                    http_service: { server_uri: { uri: 'http://x', cluster: 'http-authz', timeout: '1s' } },
                  }),
                },
              ],
            }),
          },
        ],
      },
    ],
  };
  assert.equal(danglingReferences({ ...EMPTY, listeners: [listener] }).map(describeDangling), [
    'clusters "grpc-authz" (named by listeners/l)',
    'clusters "http-authz" (named by listeners/l)',
    'clusters "tcp" (named by listeners/l)',
    'clusters "w1" (named by listeners/l)',
    'routes "rds" (named by listeners/l)',
  ]);
  const all = ['tcp', 'w1', 'grpc-authz', 'http-authz'].map((n) => cluster(n));
  assert.equal(danglingReferences({ ...EMPTY, listeners: [listener], clusters: all, routes: [routesTo('rds', [])] }), []);
});

test('EDS clusters need the ClusterLoadAssignment of their service_name, or of their own name without one', () => {
  const eds = (name: string, serviceName?: string): Cluster =>
    cluster(name, { type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, ...(serviceName ? { service_name: serviceName } : {}) } });
  const clusters = [eds('a'), eds('b', 'b-endpoints'), cluster('static', { type: 'STATIC' })];
  assert.equal(danglingReferences({ ...EMPTY, clusters }).map(describeDangling), [
    'endpoints "a" (named by clusters/a)',
    'endpoints "b-endpoints" (named by clusters/b)',
  ]);
  assert.equal(danglingReferences({ ...EMPTY, clusters, endpoints: [{ cluster_name: 'a' }, { cluster_name: 'b-endpoints' }] }), []);
});

test.run();
