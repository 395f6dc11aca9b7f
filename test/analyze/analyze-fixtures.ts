// Object builders for analyze tests: each returns one YAML document, so a
// test states the few resources its case needs and nothing else.
import { stringify } from 'yaml';
import { analyzeConfig } from '../../src/analyze/analyze-config.js';
import { documentLocator } from '../../src/analyze/document-locator.js';
import type { Finding } from '../../src/analyze/finding.js';
import { loadConfigTexts } from '../../src/config/load-texts.js';
import { parseYamlText } from '../../src/config/yaml-files.js';

type Obj = Record<string, unknown>;

const doc = (apiVersion: string, kind: string, name: string, namespace: string, spec: Obj) =>
  stringify({ apiVersion, kind, metadata: { name, namespace }, spec });

const NET = 'networking.istio.io/v1';
const SEC = 'security.istio.io/v1';

/** A WorkloadEntry with a sidecar (Istio's tlsMode label) unless `sidecar` is false. */
export function workload(name: string, namespace: string, labels: Obj, extra: Obj = {}, sidecar = true): string {
  const all = sidecar ? { ...labels, 'security.istio.io/tlsMode': 'istio' } : labels;
  return doc(NET, 'WorkloadEntry', name, namespace, { address: `10.0.${namespace.length}.${name.length}`, labels: all, ...extra });
}

/** A ServiceEntry for `<name>.<namespace>.svc.cluster.local` selecting workloads `app=<name>`. */
export function service(
  name: string,
  namespace: string,
  ports: Obj[] = [{ number: 8000, name: 'http', protocol: 'HTTP', targetPort: 80 }],
): string {
  return doc(NET, 'ServiceEntry', name, namespace, {
    hosts: [`${name}.${namespace}.svc.cluster.local`],
    ports,
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    workloadSelector: { labels: { app: name } },
  });
}

export const peerAuthentication = (name: string, namespace: string, spec: Obj) => doc(SEC, 'PeerAuthentication', name, namespace, spec);
export const destinationRule = (name: string, namespace: string, spec: Obj) => doc(NET, 'DestinationRule', name, namespace, spec);
export const virtualService = (name: string, namespace: string, spec: Obj) => doc(NET, 'VirtualService', name, namespace, spec);
export const gateway = (name: string, namespace: string, spec: Obj) => doc(NET, 'Gateway', name, namespace, spec);
export const authorizationPolicy = (name: string, namespace: string, spec: Obj) => doc(SEC, 'AuthorizationPolicy', name, namespace, spec);
export const requestAuthentication = (name: string, namespace: string, spec: Obj) =>
  doc(SEC, 'RequestAuthentication', name, namespace, spec);
export const sidecar = (name: string, namespace: string, spec: Obj) => doc(NET, 'Sidecar', name, namespace, spec);

/** httpbin in bar (service port 8000 -> 80) and sleep in foo: the base most cases add to. */
export const BASE = [
  workload('httpbin', 'bar', { app: 'httpbin', version: 'v1' }),
  service('httpbin', 'bar'),
  workload('sleep', 'foo', { app: 'sleep' }),
];

/** Loads the documents (one `test.yaml` of them, in order) and analyzes them; the config must validate. */
export function analyze(...docs: string[]): Finding[] {
  const text = docs.join('---\n');
  const loaded = loadConfigTexts([{ name: 'test.yaml', text }]);
  if (!loaded.ok)
    throw new Error(`fixture does not validate: ${loaded.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`).join('; ')}`);
  return analyzeConfig(loaded.config, { locate: documentLocator(parseYamlText(text, 'test.yaml').documents) });
}

export const codes = (findings: readonly Finding[]) => findings.map((f) => f.code);
