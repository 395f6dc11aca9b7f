// Config for the push benchmark: N sidecar workloads behind S ServiceEntries in
// M namespaces, plus one mesh-wide PeerAuthentication in its own file, which
// the benchmark rewrites (STRICT <-> PERMISSIVE) to cause pushes. The mode of
// the mesh-wide policy decides every sidecar's inbound filter chains, so each
// change reaches every proxy's LDS and nothing else.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toYaml } from './synthetic-mesh.js';

export interface PushMeshShape {
  proxies: number;
  services: number;
  namespaces: number;
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE';

export interface PushProxy {
  /** `<name>.<namespace>`: the node id and the token subject. */
  id: string;
  namespace: string;
  service: number;
}

export interface PushMesh {
  dir: string;
  proxies: PushProxy[];
  files: number;
  bytes: number;
  policyFile: string;
}

const POLICY_FILE = 'mesh-peer-authentication.yaml';

/** 10.a.b.c for proxy j, never .0 or .255 in the last octet: a host per proxy (same scheme as synthetic-mesh). */
function hostAddress(j: number): string {
  const c = (j % 250) + 1;
  const rest = Math.floor(j / 250);
  return `10.${(rest >> 8) + 1}.${rest & 255}.${c}`;
}

export function meshPolicy(mode: MtlsMode): string {
  return `${toYaml({
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: 'istio-system' },
    spec: { mtls: { mode } },
  })}\n`;
}

/** Writes the config directory: one file per namespace plus the mesh-wide policy (STRICT). */
export function writePushMesh(dir: string, shape: PushMeshShape): PushMesh {
  mkdirSync(dir, { recursive: true });
  const services = Math.max(1, shape.services);
  const namespaces = Math.max(1, Math.min(shape.namespaces, services));
  const perNamespace = new Map<string, string[]>();
  const add = (ns: string, doc: string) => {
    const list = perNamespace.get(ns) ?? [];
    list.push(doc);
    perNamespace.set(ns, list);
  };
  const nsOf = (service: number) => `ns-${service % namespaces}`;
  for (let s = 0; s < services; s++) {
    const ns = nsOf(s);
    add(
      ns,
      toYaml({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: `svc-${s}`, namespace: ns },
        spec: {
          hosts: [`svc-${s}.${ns}.svc.cluster.local`],
          location: 'MESH_INTERNAL',
          resolution: 'STATIC',
          ports: [{ name: 'http', number: 8000, protocol: 'HTTP', targetPort: 80 }],
          workloadSelector: { labels: { app: `svc-${s}` } },
        },
      }),
    );
  }
  const proxies: PushProxy[] = [];
  for (let j = 0; j < shape.proxies; j++) {
    const service = j % services;
    const ns = nsOf(service);
    const name = `svc-${service}-${Math.floor(j / services)}`;
    add(
      ns,
      toYaml({
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadEntry',
        metadata: { name, namespace: ns },
        spec: {
          address: hostAddress(j),
          serviceAccount: `svc-${service}`,
          labels: { app: `svc-${service}`, 'security.istio.io/tlsMode': 'istio' },
        },
      }),
    );
    proxies.push({ id: `${name}.${ns}`, namespace: ns, service });
  }
  let bytes = 0;
  for (const [ns, docs] of perNamespace) {
    const text = `${docs.join('\n---\n')}\n`;
    bytes += Buffer.byteLength(text);
    writeFileSync(join(dir, `${ns}.yaml`), text);
  }
  const policyFile = join(dir, POLICY_FILE);
  writeFileSync(policyFile, meshPolicy('STRICT'));
  return { dir, proxies, files: perNamespace.size + 1, bytes, policyFile };
}

/**
 * Rewrites the mesh-wide policy like an editor that saves atomically: the new
 * text goes to a dot-file (which meshlite's loader skips) and is renamed over
 * the old one, so meshlite never reads half a file.
 */
export function writeMeshMode(policyFile: string, mode: MtlsMode): void {
  const dir = policyFile.slice(0, policyFile.lastIndexOf('/'));
  const tmp = join(dir, `.${POLICY_FILE}.tmp`);
  writeFileSync(tmp, meshPolicy(mode));
  renameSync(tmp, policyFile);
}
