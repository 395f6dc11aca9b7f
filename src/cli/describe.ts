import { Command } from 'commander';
import { policyScope } from '../model/authorization.js';
import { MeshViews } from '../model/mesh-views.js';
import type { SidecarView, UpstreamTls } from '../model/view-types.js';
import { sidecarProxies } from '../translate/translator.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';

export function describeCommand(): Command {
  return addConfigSourceFlags(
    new Command('describe').description('summarise, per sidecar proxy, what it accepts inbound and how it reaches each service'),
  )
    .option('--proxy <name.namespace>', 'only this proxy')
    .action(async (opts: ConfigSourceFlags & { proxy?: string }) => {
      const model = await loadModelFromSourceOrExit(opts, 'describe');
      const proxies = sidecarProxies(model).filter((w) => !opts.proxy || w.id === opts.proxy);
      if (proxies.length === 0) {
        process.stderr.write(opts.proxy ? `no sidecar proxy "${opts.proxy}"\n` : 'no sidecar proxies in this config\n');
        process.exitCode = 1;
        return;
      }
      const views = new MeshViews(model);
      const sidecars = proxies.map((p) => views.view(p.id)).flatMap((r) => (r.ok && r.view.kind === 'sidecar' ? [r.view] : []));
      process.stdout.write(sidecars.map((v) => describeProxy(v, model.mesh.rootNamespace)).join('\n'));
    });
}

function tlsText(tls: UpstreamTls): string {
  switch (tls.kind) {
    case 'plaintext':
      return 'plaintext';
    case 'auto':
      return 'auto mTLS';
    case 'istio-mutual':
      return 'ISTIO_MUTUAL';
    case 'simple':
      return `SIMPLE TLS${tls.settings.caCertificates ? ` (CA ${tls.settings.caCertificates})` : ''}`;
    case 'mutual':
      return `MUTUAL TLS${tls.settings.credentialName ? ` (credential ${tls.settings.credentialName})` : ` (cert ${tls.settings.clientCertificate})`}`;
  }
}

export function describeProxy(view: SidecarView, rootNamespace: string): string {
  const { proxy, settings } = view;
  const lines = [`${proxy.id}  ${proxy.identity}  ${settings.interceptionMode}`];
  if (view.inbound.length === 0) lines.push('  inbound: none');
  for (const port of view.inbound) {
    const at = settings.interceptionMode === 'EXPLICIT' ? `${proxy.address}:${port.targetPort}` : `port ${port.targetPort} (via 15006)`;
    lines.push(
      `  inbound ${at} -> app ${settings.applicationAddress}:${port.targetPort}  ${port.http ? 'HTTP' : 'TCP'}  peer mTLS ${port.mode}  (${port.services.join(', ')})`,
    );
  }
  const { authorizationPolicies, requestAuthentications } = view.authz;
  const scope = (p: Parameters<typeof policyScope>[0]) => policyScope(p, rootNamespace);
  for (const p of authorizationPolicies) {
    lines.push(
      `  authorization ${p.spec.action}${p.spec.provider ? ` (${p.spec.provider})` : ''}${p.spec.dryRun ? ' [dry-run: not enforced]' : ''}  ${p.meta.namespace}/${p.meta.name}  ${scope(p)}, ${p.spec.rules.length} rule(s)`,
    );
  }
  for (const r of requestAuthentications)
    lines.push(`  jwt  ${r.meta.namespace}/${r.meta.name}  ${scope(r)}, issuers ${r.spec.jwtRules.map((j) => j.issuer).join(', ')}`);
  if (settings.interceptionMode === 'EXPLICIT' && view.outbound.httpRoutes.length > 0)
    lines.push(`  outbound HTTP proxy ${settings.outboundAddress}:${settings.outboundPort}`);
  for (const c of view.outbound.clusters) {
    const mtls = c.endpoints.filter((e) => e.istioMtls).length;
    const eps = c.discovery === 'EDS' ? `${c.endpoints.length} endpoint(s), ${mtls} with sidecar mTLS` : c.discovery;
    lines.push(`  -> ${c.name}  ${tlsText(c.tls)}  [${eps}]`);
  }
  for (const w of view.outbound.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
