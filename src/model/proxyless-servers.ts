// The ports a proxyless gRPC app serves: one per distinct endpoint port of
// every GRPC/HTTP2 service port it is an endpoint of. grpc's XdsServer, bound
// to `<ip>:<port>`, asks for the Listener named by the bootstrap's server
// template with that address, and serves only if the Listener's address is
// exactly the one it bound.
import { isIP } from 'node:net';
import type { MeshModel } from './mesh-model.js';
import { endpointPort, type Workload } from './registry.js';
import { PROXYLESS_SERVER_LISTENER_TEMPLATE, type ProxylessServerPort } from './view-types.js';

/** Service port protocols a gRPC server speaks (mirrors PROXYLESS_PROTOCOLS of proxyless-view.ts). */
const SERVER_PROTOCOLS: readonly string[] = ['GRPC', 'HTTP2'];

export function proxylessServerListenerName(address: string, port: number): string {
  return PROXYLESS_SERVER_LISTENER_TEMPLATE.replace('%s', `${isIP(address) === 6 ? `[${address}]` : address}:${port}`);
}

export function proxylessServers(model: MeshModel, proxy: Workload, secure: boolean, warnings: string[]): ProxylessServerPort[] {
  const byPort = new Map<number, ProxylessServerPort>();
  for (const service of model.registry.services) {
    for (const e of service.endpoints) {
      if (e.workload?.id !== proxy.id) continue;
      for (const port of service.ports) {
        const p = endpointPort(e, port);
        if (!SERVER_PROTOCOLS.includes(port.protocol)) {
          warnings.push(
            `${service.host}:${port.number} (${port.protocol}) reaches this proxyless app on port ${p}; only GRPC/HTTP2 ports get a server listener`,
          );
          continue;
        }
        const existing = byPort.get(p);
        if (existing) {
          existing.services.push(`${service.host}:${port.number}`);
          continue;
        }
        if (isIP(proxy.address) === 0) {
          warnings.push(`server port ${p}: address "${proxy.address}" is not an IP; gRPC servers bind IP addresses, no server listener`);
          continue;
        }
        const mode = model.peerAuthn.effectiveMode(proxy, p);
        if (secure && mode === 'PERMISSIVE') {
          warnings.push(
            `server port ${p}: PERMISSIVE is served as plaintext (a gRPC server cannot accept TLS and plaintext on one port); use STRICT for mTLS`,
          );
        }
        byPort.set(p, {
          listener: proxylessServerListenerName(proxy.address, p),
          address: proxy.address,
          port: p,
          mode,
          mtls: secure && mode === 'STRICT',
          services: [`${service.host}:${port.number}`],
        });
      }
    }
  }
  const servers = [...byPort.values()].sort((a, b) => a.port - b.port);
  for (const s of servers) s.services.sort();
  if (!secure && servers.some((s) => s.mode === 'STRICT')) {
    warnings.push('STRICT server ports are served in plaintext: proxyless security is off (meshlite serve --insecure)');
  }
  return servers;
}
