// Deterministic synthetic mesh for the translation benchmark: services,
// workloads and policies as YAML text, one file per namespace, so that the
// benchmark exercises the real YAML reader and config validation.
//
// Shape (for the default 1,000 services / 5,000 workloads / 2,000 policies):
// - ~50 namespaces `ns-M` (one per 20 services) plus `istio-system`;
// - one ServiceEntry per service (MESH_INTERNAL, STATIC, workloadSelector
//   app=svc-N), port http 8000->80 always, plus a TCP port (20%) or a GRPC
//   port 9090 (10%);
// - workloads spread round-robin over services (5 each), a 10.x address each,
//   labels app/version, `security.istio.io/tlsMode: istio` on ~90% (the rest
//   are legacy, no sidecar), a per-service serviceAccount, 10% with a port
//   override;
// - policies: 40% PeerAuthentication (mesh STRICT in istio-system, one per
//   namespace, the rest workload-level with selectors, 30% with
//   portLevelMtls), 60% DestinationRule (ISTIO_MUTUAL / DISABLE / SIMPLE with
//   caCertificates / no TLS but LB+pool+outlier; 40% with v1/v2 subsets; 10%
//   with portLevelSettings; 1% wildcard `*.ns-M.svc.cluster.local`; rules past
//   one per service are client-namespace overrides);
// - access control (`authz`, default 1,000): one AuthorizationPolicy per
//   service (ALLOW from 2 namespaces + GET/POST on /api/* with a header
//   condition; every 5th a DENY on /admin*), one namespace-wide
//   RequestAuthentication (inline JWKS) per namespace with an ALLOW requiring
//   a request principal on every 10th service, and a mesh-wide AUDIT policy.

export interface MeshShape {
  services: number;
  workloads: number;
  policies: number;
  /** AuthorizationPolicies (plus a RequestAuthentication per namespace when > 0). */
  authz: number;
  namespaces: number;
  seed: number;
  /** When 1, every namespace gets a Sidecar importing its own services and those of the next namespace. */
  sidecars?: number;
}

export interface SyntheticMesh {
  files: { name: string; text: string }[];
  counts: Record<string, number>;
  /** Workloads generated with the sidecar label (the proxies to translate). */
  sidecars: number;
  bytes: number;
}

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/** mulberry32: small, fast, good enough, and the same sequence on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

function scalar(value: string | number | boolean): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isScalar(value: Yaml): value is string | number | boolean {
  return typeof value !== 'object';
}

/** Block-style YAML for plain data (strings double-quoted, so no YAML surprises). */
function emit(value: Yaml, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isScalar(item)) {
        out.push(`${indent}- ${scalar(item)}`);
        continue;
      }
      const start = out.length;
      emit(item, `${indent}  `, out);
      out[start] = `${indent}- ${out[start]!.slice(indent.length + 2)}`;
    }
    return;
  }
  if (isScalar(value)) {
    out.push(`${indent}${scalar(value)}`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const key = BARE_KEY.test(k) ? k : JSON.stringify(k);
    if (isScalar(v)) out.push(`${indent}${key}: ${scalar(v)}`);
    else if (Array.isArray(v) && v.length === 0) out.push(`${indent}${key}: []`);
    else if (!Array.isArray(v) && Object.keys(v).length === 0) out.push(`${indent}${key}: {}`);
    else {
      out.push(`${indent}${key}:`);
      emit(v, `${indent}  `, out);
    }
  }
}

export function toYaml(doc: Yaml): string {
  const out: string[] = [];
  emit(doc, '', out);
  return out.join('\n');
}

function resource(apiVersion: string, kind: string, name: string, namespace: string, spec: Yaml): Yaml {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

const NETWORKING = 'networking.istio.io/v1';
const SECURITY = 'security.istio.io/v1';
const ROOT_NS = 'istio-system';

interface ServiceInfo {
  index: number;
  namespace: string;
  host: string;
  tcpPort?: number;
}

/**
 * Address of workload j: 10.a.b.c, never .0 or .255 in the last octet. Each
 * workload is a host of its own (as on VMs), so the sidecars' default local
 * sockets (127.0.0.1:15001 outbound, the app on 127.0.0.1) do not collide.
 */
function hostAddress(j: number): string {
  const c = (j % 250) + 1;
  const rest = Math.floor(j / 250);
  return `10.${(rest >> 8) + 1}.${rest & 255}.${c}`;
}

export function generateMesh(shape: MeshShape): SyntheticMesh {
  const random = rng(shape.seed);
  const pick = <T>(choices: readonly [number, T][]): T => {
    const r = random();
    let acc = 0;
    for (const [weight, value] of choices) {
      acc += weight;
      if (r < acc) return value;
    }
    return choices[choices.length - 1]![1];
  };
  const nsCount = Math.max(1, shape.namespaces);
  const docs = new Map<string, Yaml[]>();
  const add = (namespace: string, doc: Yaml): void => {
    const list = docs.get(namespace) ?? [];
    list.push(doc);
    docs.set(namespace, list);
  };
  const counts: Record<string, number> = {
    ServiceEntry: 0,
    WorkloadEntry: 0,
    PeerAuthentication: 0,
    DestinationRule: 0,
    namespaces: nsCount,
  };
  const services: ServiceInfo[] = [];

  // Services.
  for (let i = 0; i < shape.services; i++) {
    const namespace = `ns-${i % nsCount}`;
    const host = `svc-${i}.${namespace}.svc.cluster.local`;
    const ports: Yaml[] = [{ name: 'http', number: 8000, protocol: 'HTTP', targetPort: 80 }];
    const extra = random();
    const info: ServiceInfo = { index: i, namespace, host };
    if (extra < 0.2) {
      info.tcpPort = 20000 + (i % 40000);
      ports.push({ name: 'tcp-db', number: info.tcpPort, protocol: 'TCP', targetPort: 5432 });
    } else if (extra < 0.3) {
      ports.push({ name: 'grpc', number: 9090, protocol: 'GRPC', targetPort: 9090 });
    }
    services.push(info);
    add(
      namespace,
      resource(NETWORKING, 'ServiceEntry', `svc-${i}`, namespace, {
        hosts: [host],
        location: 'MESH_INTERNAL',
        resolution: 'STATIC',
        ports,
        workloadSelector: { labels: { app: `svc-${i}` } },
      }),
    );
    counts.ServiceEntry!++;
  }

  // Workloads: round-robin over services.
  let sidecars = 0;
  for (let j = 0; j < shape.workloads && services.length > 0; j++) {
    const svc = services[j % services.length]!;
    const k = Math.floor(j / services.length);
    const labels: Record<string, string> = { app: `svc-${svc.index}`, version: `v${(k % 2) + 1}` };
    if (random() >= 0.1) {
      labels['security.istio.io/tlsMode'] = 'istio';
      sidecars++;
    }
    const spec: Record<string, Yaml> = { address: hostAddress(j), labels, serviceAccount: `svc-${svc.index}` };
    if (random() < 0.1) spec.ports = { http: 8080 };
    add(svc.namespace, resource(NETWORKING, 'WorkloadEntry', `svc-${svc.index}-${k}`, svc.namespace, spec));
    counts.WorkloadEntry!++;
  }

  // PeerAuthentication: mesh, namespaces, then workloads.
  const paCount = Math.round(shape.policies * 0.4);
  const drCount = shape.policies - paCount;
  let pa = 0;
  if (pa < paCount) {
    add(ROOT_NS, resource(SECURITY, 'PeerAuthentication', 'default', ROOT_NS, { mtls: { mode: 'STRICT' } }));
    pa++;
  }
  const nsModes = ['PERMISSIVE', 'STRICT', 'UNSET', 'STRICT', 'DISABLE'];
  for (let m = 0; m < nsCount && pa < paCount; m++, pa++) {
    add(`ns-${m}`, resource(SECURITY, 'PeerAuthentication', 'default', `ns-${m}`, { mtls: { mode: nsModes[m % nsModes.length]! } }));
  }
  for (let t = 0; pa < paCount && services.length > 0; t++, pa++) {
    const svc = services[(t * 7919) % services.length]!;
    const matchLabels: Record<string, string> = { app: `svc-${svc.index}` };
    if (t >= services.length) matchLabels.version = `v${(t % 2) + 1}`;
    const mode = pick<string>([
      [0.5, 'STRICT'],
      [0.25, 'PERMISSIVE'],
      [0.15, 'DISABLE'],
      [0.1, 'UNSET'],
    ]);
    const spec: Record<string, Yaml> = { selector: { matchLabels }, mtls: { mode } };
    if (random() < 0.3) {
      const portLevel: Record<string, Yaml> = { '80': { mode: random() < 0.5 ? 'DISABLE' : 'PERMISSIVE' } };
      if (svc.tcpPort !== undefined) portLevel['5432'] = { mode: 'STRICT' };
      spec.portLevelMtls = portLevel;
    }
    add(svc.namespace, resource(SECURITY, 'PeerAuthentication', `pa-${t}`, svc.namespace, spec));
  }
  counts.PeerAuthentication = pa;

  // DestinationRules.
  for (let t = 0; t < drCount && services.length > 0; t++) {
    if (t % 100 === 99) {
      const m = Math.floor(t / 100) % nsCount;
      add(
        `ns-${m}`,
        resource(NETWORKING, 'DestinationRule', `dr-wild-${t}`, `ns-${m}`, {
          host: `*.ns-${m}.svc.cluster.local`,
          trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
        }),
      );
      counts.DestinationRule!++;
      continue;
    }
    const svc = services[(t * 104729) % services.length]!;
    const svcNs = svc.index % nsCount;
    const namespace = t < services.length ? svc.namespace : `ns-${(svcNs + 1 + t) % nsCount}`;
    const host = namespace === svc.namespace && random() < 0.2 ? `svc-${svc.index}` : svc.host;
    const trafficPolicy: Record<string, Yaml> = {};
    const tls = pick<string>([
      [0.45, 'ISTIO_MUTUAL'],
      [0.1, 'DISABLE'],
      [0.15, 'SIMPLE'],
      [0.3, 'NONE'],
    ]);
    if (tls === 'SIMPLE') {
      trafficPolicy.tls = {
        mode: 'SIMPLE',
        caCertificates: `/etc/meshlite/certs/svc-${svc.index}/ca.crt`,
        sni: svc.host,
        subjectAltNames: [svc.host],
      };
    } else if (tls !== 'NONE') {
      trafficPolicy.tls = { mode: tls };
    } else {
      trafficPolicy.loadBalancer = { simple: 'LEAST_REQUEST' };
      trafficPolicy.connectionPool = {
        tcp: { maxConnections: 100, connectTimeout: '5s' },
        http: { http2MaxRequests: 1000, maxRetries: 3 },
      };
      trafficPolicy.outlierDetection = { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 };
    }
    if (random() < 0.1)
      trafficPolicy.portLevelSettings = [
        { port: { number: 8000 }, loadBalancer: { simple: 'ROUND_ROBIN' }, tls: { mode: 'ISTIO_MUTUAL' } },
      ];
    const spec: Record<string, Yaml> = { host, trafficPolicy };
    if (random() < 0.4) {
      const v2: Record<string, Yaml> = { name: 'v2', labels: { version: 'v2' } };
      if (random() < 0.2) v2.trafficPolicy = { loadBalancer: { simple: 'ROUND_ROBIN' } };
      spec.subsets = [{ name: 'v1', labels: { version: 'v1' } }, v2];
    }
    add(namespace, resource(NETWORKING, 'DestinationRule', `dr-${t}`, namespace, spec));
    counts.DestinationRule!++;
  }

  // Access control.
  counts.AuthorizationPolicy = 0;
  counts.RequestAuthentication = 0;
  if (shape.authz > 0) {
    add(
      ROOT_NS,
      resource(SECURITY, 'AuthorizationPolicy', 'audit-debug', ROOT_NS, {
        action: 'AUDIT',
        rules: [{ when: [{ key: 'request.headers[x-debug]', values: ['*'] }] }],
      }),
    );
    counts.AuthorizationPolicy!++;
    const jwks = JSON.stringify({
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          kid: 'bench',
          x: 'q8J6jZHcsyuHxD_GnY91-0mkhxv6CspfPVFC9y-yRSo',
          y: 'vdgRecl1o2Ooy8qqUi74x3c-95pzlsNRhIkAA4RCQWM',
        },
      ],
    });
    for (let m = 0; m < nsCount; m++) {
      add(
        `ns-${m}`,
        resource(SECURITY, 'RequestAuthentication', 'jwt', `ns-${m}`, {
          jwtRules: [{ issuer: `https://idp-${m}.example.com`, audiences: [`ns-${m}`], jwks }],
        }),
      );
      counts.RequestAuthentication!++;
    }
  }
  for (let t = 0; t + 1 < shape.authz && services.length > 0; t++) {
    const svc = services[t % services.length]!;
    const m = svc.index % nsCount;
    const matchLabels: Record<string, Yaml> = { app: `svc-${svc.index}` };
    if (t >= services.length) matchLabels.version = `v${(t % 2) + 1}`;
    const selector: Yaml = { matchLabels };
    let spec: Record<string, Yaml>;
    if (t % 5 === 4) {
      spec = { selector, action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'], paths: ['/admin', '/admin/*'] } }] }] };
    } else {
      const source: Record<string, Yaml> = { namespaces: [`ns-${m}`, `ns-${(m + 1) % nsCount}`] };
      if (t % 10 === 0) source.requestPrincipals = [`https://idp-${m}.example.com/*`];
      spec = {
        selector,
        action: 'ALLOW',
        rules: [
          {
            from: [{ source }],
            to: [{ operation: { methods: ['GET', 'POST'], paths: ['/api/*'] } }],
            when: [{ key: 'request.headers[x-tenant]', values: [`t-${t % 7}`, 'shared'] }],
          },
        ],
      };
    }
    add(svc.namespace, resource(SECURITY, 'AuthorizationPolicy', `authz-${t}`, svc.namespace, spec));
    counts.AuthorizationPolicy!++;
  }

  if (shape.sidecars) {
    counts.Sidecar = 0;
    for (let n = 0; n < nsCount; n++) {
      const egress = [{ hosts: ['./*', `ns-${(n + 1) % nsCount}/*`] }];
      add(`ns-${n}`, resource(NETWORKING, 'Sidecar', 'default', `ns-${n}`, { egress }));
      counts.Sidecar++;
    }
  }

  const files: { name: string; text: string }[] = [];
  let bytes = 0;
  const names = [...docs.keys()].sort((a, b) => (a === ROOT_NS ? -1 : b === ROOT_NS ? 1 : Number(a.slice(3)) - Number(b.slice(3))));
  for (const ns of names) {
    const text = `${docs.get(ns)!.map(toYaml).join('\n---\n')}\n`;
    bytes += Buffer.byteLength(text);
    files.push({ name: `synthetic/${ns}.yaml`, text });
  }
  return { files, counts, sidecars, bytes };
}
