// What `/debug/authenticationz` shows, like istioctl's old `authn tls-check`:
// for each destination a proxy can reach, does the TLS its sidecar will send
// agree with what the servers accept?
import type { MeshModel } from './mesh-model.js';
import { computeOutbound } from './outbound-view.js';
import type { OutboundCluster } from './view-types.js';
import { endpointPort } from './registry.js';

export interface TlsCheckRow {
  host: string;
  port: number;
  cluster: string;
  /** Effective peer mTLS of the servers (per distinct mode), `-` for no sidecar. */
  serverModes: string[];
  clientMode: string;
  status: 'OK' | 'CONFLICT';
  detail?: string;
}

function clientMode(c: OutboundCluster): string {
  switch (c.tls.kind) {
    case 'plaintext':
      return 'DISABLE';
    case 'auto':
      return 'AUTO';
    case 'istio-mutual':
      return 'ISTIO_MUTUAL';
    case 'simple':
      return 'SIMPLE';
    case 'mutual':
      return 'MUTUAL';
  }
}

export function tlsCheck(model: MeshModel, proxyId: string): TlsCheckRow[] | undefined {
  const proxy = model.registry.workload(proxyId);
  if (!proxy) return undefined;
  const rows: TlsCheckRow[] = [];
  for (const c of computeOutbound(model, proxy.namespace).clusters) {
    if (c.subset) continue;
    const service = model.registry.service(c.host);
    const modes = new Set<string>();
    for (const e of service?.endpoints ?? []) {
      modes.add(
        e.sidecar
          ? model.peerAuthn.effectiveMode({ namespace: e.namespace, labels: e.labels, ports: e.ports }, endpointPort(e, c.port))
          : '-',
      );
    }
    const serverModes = [...modes].sort();
    const client = clientMode(c);
    let detail: string | undefined;
    if (client === 'DISABLE' && modes.has('STRICT')) detail = 'client sends plaintext to servers that require mTLS';
    else if (client === 'ISTIO_MUTUAL' && (modes.has('DISABLE') || modes.has('-')))
      detail = 'client sends mTLS to servers that do not accept it';
    rows.push({
      host: c.host,
      port: c.port.number,
      cluster: c.name,
      serverModes,
      clientMode: client,
      status: detail ? 'CONFLICT' : 'OK',
      ...(detail ? { detail } : {}),
    });
  }
  return rows;
}
