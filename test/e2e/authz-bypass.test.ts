// Known ways around path and host rules (from published Envoy and Istio
// security fixes) against real Envoys on the S1 world. Requests are
// written raw on the wire, mostly by sleep.legacy straight to httpbin.bar's
// inbound listener (no client sidecar to normalise anything first), some
// through sleep.foo's sidecar (mutual TLS). Each attempt must be answered by
// httpbin.bar's sidecar (403 from RBAC, or 400 for a request Envoy refuses)
// and never reach the app, which logs every request it receives; the app is
// also shown to receive the normalised path the policy was checked against.
// Envoys run with Istio's drain strategy; see support/e2e/authz.ts.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizationPolicy, HTTPBIN_SELECTOR, ISTIO_LIKE_DRAIN_ARGS, PolicyChecker, type PolicyProbe } from '../support/e2e/authz.js';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { statValue } from '../support/e2e/envoy-state.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { startWorld, type World } from '../support/e2e/world.js';

const DENIED = '403|400';

/** Paths that must all be refused under a DENY on `/admin` and `/admin/*`. */
const ADMIN_BYPASSES = [
  '/admin',
  '/admin/',
  '/admin/x',
  '/admin?',
  '/admin?x=1',
  // merge_slashes, dot segments (plain and percent-encoded)
  '//admin',
  '///admin/x',
  '/./admin',
  '/x/../admin',
  '/x/%2e%2e/admin',
  '/%2e/admin',
  '/admin/.',
  // escaped slashes: %2F / %2f, and backslashes (%5C / %5c and raw), which servers treat as `/`
  '/%2Fadmin',
  '/%2fadmin',
  '/admin%2Fx',
  '/admin%2fx',
  '/%5Cadmin',
  '/%5cadmin',
  '/admin%5Cx',
  '/admin%5C',
  '/\\admin',
  // percent-encoded unreserved characters
  '/%61dmin',
  '/adm%69n',
  // path parameters, which many servers drop before routing
  '/admin;param',
  '/admin;param/x',
  '/admin;/x',
  '/x/..;/admin',
  // a fragment is not part of a request target: Envoy refuses it
  '/admin#frag',
  '/admin/#x',
];

/** Paths the DENY must not catch: answered by httpbin, which receives `appUrl`. */
const ALLOWED: readonly { path: string; want: string; appUrl: string }[] = [
  { path: '/headers', want: '200', appUrl: '/headers' },
  { path: '/administrator', want: '404', appUrl: '/administrator' },
  { path: '/x/admin', want: '404', appUrl: '/x/admin' },
  { path: '//anything', want: '200', appUrl: '/anything' },
  { path: '/x/../anything', want: '200', appUrl: '/anything' },
  { path: '/anything%2Fa', want: '200', appUrl: '/anything/a' },
  { path: '/anything%5Cb', want: '200', appUrl: '/anything/b' },
  { path: '/anything/%2e%2e/headers', want: '200', appUrl: '/headers' },
];

/**
 * Forms the path match does not normalise (Istio does not either): case, and
 * trailing `.` or space in a segment; percent-encoded unreserved characters
 * are decoded (`%41` -> `A`), other escapes stay as sent.
 */
const NOT_NORMALISED: readonly { path: string; want: string; appUrl: string }[] = [
  { path: '/Admin', want: '404', appUrl: '/Admin' },
  { path: '/ADMIN/x', want: '404', appUrl: '/ADMIN/x' },
  { path: '/%41dmin', want: '404', appUrl: '/Admin' },
  { path: '/admin.', want: '404', appUrl: '/admin.' },
  { path: '/admin%2e', want: '404', appUrl: '/admin.' },
  { path: '/admin./x', want: '404', appUrl: '/admin./x' },
  { path: '/admin%20', want: '404', appUrl: '/admin%20' },
  { path: '/%2561dmin', want: '404', appUrl: '/%2561dmin' },
];

/** sleep.legacy's TLS (not mesh mTLS: no istio ALPN) to httpbin.bar's port: the PERMISSIVE pass-through chain. */
function tlsPassthrough(world: World): Promise<string> {
  const bar = world.workload('httpbin.bar');
  return new Promise((resolve) => {
    const tcp = connect({ host: bar.address, port: 80, localAddress: world.workload('sleep.legacy').address });
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], servername: 'httpbin.bar' });
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      tcp.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('timeout'), 3000);
    socket.on('secureConnect', () => done('handshake completed'));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => done('closed'));
  });
}

test('bypass attempts against DENY /admin, /admin/* and DENY hosts [secret.com] on httpbin.bar', async () => {
  await withProcesses('authz-bypass', async (pm) => {
    const world = await startWorld(pm, { envoyArgs: ISTIO_LIKE_DRAIN_ARGS });
    const c = new PolicyChecker(world);

    await c.apply(
      authorizationPolicy('bar', 'deny-admin', {
        selector: HTTPBIN_SELECTOR,
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/admin', '/admin/*'] } }] }],
      }),
    );
    await assertDiffMatches({ ...world, proxies: world.sidecarProxies }, 'DENY /admin');
    const legacy: PolicyProbe[] = ADMIN_BYPASSES.map((path) => ({ from: 'legacy', to: 'bar', path, want: DENIED }));
    await c.expect('raw from sleep.legacy, denied', legacy);
    await c.expect(
      'raw from sleep.legacy, allowed',
      ALLOWED.map((a) => ({ from: 'legacy', to: 'bar', ...a })),
    );
    // Through sleep.foo's sidecar (mTLS to httpbin.bar); `#` cannot be sent in an absolute URI here.
    const viaSidecar = ADMIN_BYPASSES.filter((p) => !p.includes('#'));
    await c.expect(
      "through sleep.foo's sidecar, denied",
      viaSidecar.map((path) => ({ from: 'foo', to: 'bar', path, want: DENIED })),
    );
    await c.expect(
      "through sleep.foo's sidecar, allowed",
      ALLOWED.map((a) => ({ from: 'foo', to: 'bar', ...a })),
    );
    await c.expect(
      'forms not normalised: the DENY misses them',
      NOT_NORMALISED.map((a) => ({ from: 'legacy', to: 'bar', ...a })),
    );

    // TLS that is not mesh mTLS goes to the pass-through chain: it must not carry traffic past the HTTP policy
    // (on TCP a DENY rule loses its HTTP-only fields, so it denies every connection there).
    const rbacDeniedBefore = await statValue(world.envoy('httpbin.bar'), 'tcp.rbac.denied');
    const outcome = await tlsPassthrough(world);
    assert.ok(['ECONNRESET', 'closed'].includes(outcome), `TLS pass-through to httpbin.bar under DENY /admin: ${outcome}`);
    assert.is(
      await statValue(world.envoy('httpbin.bar'), 'tcp.rbac.denied'),
      rbacDeniedBefore + 1,
      'the network RBAC filter refused the pass-through connection',
    );

    // Written robustly: a DENY prefix that does not stop at the segment (and the case variants), or an ALLOW list.
    await c.apply(
      authorizationPolicy('bar', 'deny-admin', {
        selector: HTTPBIN_SELECTOR,
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/admin*', '/Admin*', '/ADMIN*'] } }] }],
      }),
    );
    await c.expect('DENY /admin* and its case variants', [
      ...NOT_NORMALISED.filter((a) => a.path !== '/%2561dmin').map((a) => ({
        from: 'legacy' as const,
        to: 'bar' as const,
        path: a.path,
        want: '403',
      })),
      { from: 'legacy', to: 'bar', path: '/headers', want: '200' },
    ]);
    await c.apply(
      authorizationPolicy('bar', 'allow-list', {
        selector: HTTPBIN_SELECTOR,
        action: 'ALLOW',
        rules: [{ to: [{ operation: { paths: ['/headers', '/anything', '/anything/*'] } }] }],
      }),
    );
    await c.expect('an ALLOW list refuses every spelling it does not list', [
      ...NOT_NORMALISED.map((a) => ({ from: 'legacy' as const, to: 'bar' as const, path: a.path, want: '403' })),
      { from: 'legacy', to: 'bar', path: '/headers', want: '200' },
      { from: 'legacy', to: 'bar', path: '/anything/%41', want: '200', appUrl: '/anything/A' },
    ]);

    // DENY by host: any case, with or without a port, and the absolute (trailing dot) form of the name.
    await c.apply(
      authorizationPolicy('bar', 'deny-secret', {
        selector: HTTPBIN_SELECTOR,
        action: 'DENY',
        rules: [{ to: [{ operation: { hosts: ['secret.com'] } }] }],
      }),
    );
    const host = (authority: string, want: string): PolicyProbe => ({
      from: 'legacy',
      to: 'bar',
      path: '/headers',
      want,
      label: `Host: ${authority}`,
      opts: { authority },
    });
    await c.expect('DENY hosts [secret.com]', [
      host('secret.com', '403'),
      host('Secret.com', '403'),
      host('SECRET.COM', '403'),
      host('secret.com:80', '403'),
      host('Secret.com:8000', '403'),
      host('other.com', '200'),
      host('notsecret.com', '200'),
      host('secret.com.evil', '200'),
      host('httpbin.bar:8000', '200'),
      { from: 'legacy', to: 'bar', path: '/admin', want: '404', label: 'the path DENY is gone' },
    ]);
    await c.expect('DENY hosts [secret.com]: fully qualified (trailing dot) names', [
      host('secret.com.', '403'),
      host('Secret.com.:80', '403'),
    ]);
  });
});

test.run();
