// Istio's naming conventions, which users and tools (istioctl-style diffs) rely on.

/** `outbound|8000||httpbin.foo.svc.cluster.local`, `inbound|80||`. */
export function clusterName(direction: 'inbound' | 'outbound', port: number, subset: string, host: string): string {
  return `${direction}|${port}|${subset}|${host}`;
}

/** `outbound_.8000_._.httpbin.foo.svc.cluster.local`, the SNI of mesh mTLS. */
export function sniName(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/**
 * Every name an app may use for a service: the FQDN, `name.ns.svc`, `name.ns`
 * and, from the same namespace, `name`; each with and without `:port`.
 */
export function hostDomains(host: string, port: number, clientNamespace: string, domainSuffix: string): string[] {
  const names = [host];
  const suffix = `.svc.${domainSuffix}`;
  if (host.endsWith(suffix)) {
    const short = host.slice(0, -suffix.length);
    const [name, namespace] = short.split('.');
    names.push(`${short}.svc`, short);
    if (namespace === clientNamespace && name) names.push(name);
  }
  const domains: string[] = [];
  for (const name of names) domains.push(name, `${name}:${port}`);
  return domains;
}
