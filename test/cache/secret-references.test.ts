// A proxy's secrets are data (ProxyResources.secrets, from its view) and names
// in the TLS contexts the builders write. The two must agree both ways: a name
// without a reference is never served (what needs it warms forever), and a
// reference without a name is served for nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { danglingReferences } from '../../src/cache/snapshot-consistency.js';
import { credentialRef } from '../../src/model/secret-refs.js';
import type { SdsSecretConfig } from '../../src/xds/envoy-types/index.js';
import type { ProxyResources } from '../../src/xds/proxy-resources.js';
import { goldenTranslations } from '../support/golden-cases.js';

/** Every SDS secret name in the resources, wherever a `*_sds_secret_config(s)` field holds one. */
function writtenSecretNames(resources: ProxyResources): string[] {
  const names = new Set<string>();
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) for (const item of value) visit(item, key);
    else if (value && typeof value === 'object') {
      if (/_sds_secret_configs?$/.test(key)) names.add(String((value as { name?: unknown }).name));
      else for (const [k, child] of Object.entries(value)) visit(child, k);
    }
  };
  for (const list of [resources.clusters, resources.endpoints, resources.listeners, resources.routes]) visit(list, '');
  return [...names].sort();
}

/** How written names and references disagree; empty when they are the same names, each referenced once. */
function disagreement(resources: ProxyResources): string[] {
  const written = writtenSecretNames(resources);
  const referenced = resources.secrets.map((r) => r.name);
  return [
    ...written.filter((n) => !referenced.includes(n)).map((n) => `written, not referenced: ${n}`),
    ...referenced.filter((n) => !written.includes(n)).map((n) => `referenced, not written: ${n}`),
    ...referenced.filter((n, i) => referenced.indexOf(n) !== i).map((n) => `referenced twice: ${n}`),
  ];
}

const golden = goldenTranslations();

test('every golden proxy: the SDS names its resources write are exactly the names of its secret references', () => {
  const kinds = new Set<string>();
  for (const { scenario, view, resources } of golden) {
    const where = `${scenario}/${view.proxy.id}`;
    assert.equal(disagreement(resources), [], where);
    // The consistency check reads the same names: with no Secrets at all, each of them dangles.
    const dangling = danglingReferences({ ...resources, secrets: [] }).filter((d) => d.type === 'secrets');
    assert.equal([...new Set(dangling.map((d) => d.name))].sort(), writtenSecretNames(resources), where);
    for (const ref of resources.secrets) kinds.add(ref.kind);
  }
  assert.ok(golden.length >= 50, `only ${golden.length} proxies checked`);
  assert.equal(
    [...kinds].sort(),
    ['credential', 'file-cert', 'file-root', 'root-ca', 'workload-cert'],
    'every kind of reference is covered',
  );
});

/** A golden proxy with a credential reference (a gateway), to doctor. */
const gateway = golden.find((g) => g.resources.secrets.some((r) => r.kind === 'credential'));
if (!gateway) throw new Error('no golden proxy references a credential');
const { resources } = gateway;
const credential = resources.secrets.find((r) => r.kind === 'credential')!;

test('a doctored resource set fails: a reference dropped, one added, one named twice', () => {
  assert.equal(disagreement(resources), []);
  assert.equal(disagreement({ ...resources, secrets: resources.secrets.filter((r) => r !== credential) }), [
    `written, not referenced: ${credential.name}`,
  ]);
  const extra = credentialRef('nobody', false);
  assert.equal(disagreement({ ...resources, secrets: [...resources.secrets, extra] }), ['referenced, not written: kubernetes://nobody']);
  assert.equal(disagreement({ ...resources, secrets: [...resources.secrets, credential] }), [`referenced twice: ${credential.name}`]);
});

/** A copy of some resources without the SDS configs that name `name`. */
function unnamed<T>(resources: T, name: string): T {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!value || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === 'tls_certificate_sds_secret_configs') out[key] = (child as SdsSecretConfig[]).filter((c) => c.name !== name);
      else if (key !== 'validation_context_sds_secret_config' || (child as SdsSecretConfig).name !== name) out[key] = strip(child);
    }
    return out;
  };
  return strip(resources) as T;
}

test('a doctored resource set fails: a referenced secret no TLS context names', () => {
  for (const ref of resources.secrets) {
    const doctored = { ...resources, clusters: unnamed(resources.clusters, ref.name), listeners: unnamed(resources.listeners, ref.name) };
    assert.equal(disagreement(doctored), [`referenced, not written: ${ref.name}`]);
  }
});

test.run();
