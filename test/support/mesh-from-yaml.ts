import { formatIssue } from '../../src/config/diagnostics.js';
import { buildConfigSet } from '../../src/config/load-config.js';
import { parseYamlText } from '../../src/config/yaml-files.js';
import { buildMeshModel, type MeshModel } from '../../src/model/mesh-model.js';

/** A mesh model from inline YAML documents (joined with ---). */
export function meshFromYaml(...docs: string[]): MeshModel {
  const parsed = parseYamlText(docs.join('\n---\n'), 'inline.yaml');
  const result = buildConfigSet(parsed.documents, parsed.issues, ['inline.yaml']);
  if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
  return buildMeshModel(result.config);
}

export const serviceEntry = (
  ns: string,
  name: string,
  extra = '',
  ports = '[{name: http, number: 8000, protocol: HTTP, targetPort: 80}]',
) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${name}.${ns}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: ${ports}
  workloadSelector: {labels: {app: ${name}}}
${extra}`;

export const workload = (
  ns: string,
  name: string,
  address: string,
  opts: { sidecar?: boolean; app?: string; sa?: string; labels?: string; annotations?: string } = {},
) => `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: ${name}
  namespace: ${ns}
  annotations: {${opts.annotations ?? ''}}
spec:
  address: ${address}
  serviceAccount: ${opts.sa ?? name}
  labels: {app: ${opts.app ?? name}${opts.sidecar === false ? '' : ', security.istio.io/tlsMode: istio'}${opts.labels ? `, ${opts.labels}` : ''}}`;

export const peerAuthn = (ns: string, name: string, body: string, creationTimestamp?: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${ns}${creationTimestamp ? `, creationTimestamp: "${creationTimestamp}"` : ''}}
spec: ${body}`;

export const destinationRule = (ns: string, name: string, host: string, body: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  host: "${host}"
${body}`;
