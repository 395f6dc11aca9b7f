// Helpers for the authorization e2e tests: policy documents, a JWT issuer
// (jose), waiting until Envoys have let go of filter chains a policy change
// replaced, and a checker of calls (code, who answered, what the app saw).
//
// Why the drain wait: HTTP policies reach Envoy over RDS (per-virtual-host
// config of always-present RBAC filters), so they apply to the next request
// of an open connection (authz-s5's live test proves it with default Envoy
// flags). TCP policies (network RBAC), jwt_authn providers and CUSTOM
// providers live in the listener's filter chains: when those change, Envoy
// drains the old chains, and connections opened before keep the old config
// until they close (Envoy's default drain is gradual over 600 s; Istio's agent
// runs Envoy with `--drain-strategy immediate`). The policy tests run their
// Envoys like that with a 1 s drain, and after each edit wait until no chain
// is draining, so each step measures the new config on every connection.
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { type Matrix, matrixDiff, matrixKey, NAMESPACES, type Namespace } from './client.js';
import { removeConfigFile, writeConfigFile } from './config-dir.js';
import type { Envoy } from './envoy.js';
import { assertMatrixPredicted } from './predicted-matrix.js';
import { statValue } from './envoy-state.js';
import { describeResponse, meshRequest, type MeshRequestOptions, type RawResponse } from './raw-http.js';
import type { World } from './world.js';

/** Envoy options as Istio's pilot-agent passes them, with a drain short enough for tests. */
export const ISTIO_LIKE_DRAIN_ARGS: readonly string[] = ['--drain-strategy', 'immediate', '--drain-time-s', '1'];

/** Waits until none of `envoys` has a filter chain draining (old connections closed). */
export async function waitForDrained(envoys: Iterable<Envoy>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const envoy of envoys) {
    for (;;) {
      const draining = await statValue(envoy, 'listener_manager.total_filter_chains_draining');
      if (draining === 0) break;
      if (Date.now() > deadline) throw new Error(`Envoy ${envoy.name}: ${draining} filter chain(s) still draining after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

type Json = Record<string, unknown>;

function resource(apiVersion: string, kind: string, namespace: string, name: string, spec: Json): string {
  return stringify({ apiVersion, kind, metadata: { name, namespace }, spec });
}

export function authorizationPolicy(namespace: string, name: string, spec: Json): string {
  return resource('security.istio.io/v1', 'AuthorizationPolicy', namespace, name, spec);
}

export function requestAuthentication(namespace: string, name: string, spec: Json): string {
  return resource('security.istio.io/v1', 'RequestAuthentication', namespace, name, spec);
}

/** Several documents in one file. */
export function documents(...docs: string[]): string {
  return docs.join('---\n');
}

export const HTTPBIN_SELECTOR = { matchLabels: { app: 'httpbin' } };

export interface TokenOptions {
  sub?: string;
  /** Overrides the issuer's own `iss`. */
  iss?: string;
  /** Seconds since the epoch; one hour from now by default. */
  exp?: number;
  claims?: JWTPayload;
}

/** An ES256 key pair and its JWKS: signs tokens as `issuer`. */
export class JwtIssuer {
  private constructor(
    readonly issuer: string,
    readonly kid: string,
    /** The public JWKS, JSON text (what RequestAuthentication `jwks` holds). */
    readonly jwks: string,
    private readonly privateKey: CryptoKey,
  ) {}

  static async create(issuer: string, kid = 'meshlite-e2e'): Promise<JwtIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new JwtIssuer(issuer, kid, JSON.stringify({ keys: [jwk] }), privateKey);
  }

  sign(token: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...token.claims })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setIssuer(token.iss ?? this.issuer)
      .setSubject(token.sub ?? 'alice')
      .setIssuedAt(now - 60)
      .setExpirationTime(token.exp ?? now + 3600)
      .sign(this.privateKey);
  }
}

export const RBAC_DENIED = 'RBAC: access denied';
const POLICY_FILE = 'authz.yaml';

export interface PolicyProbe {
  from: Namespace;
  to: Namespace;
  /** Sent as is (raw) by sidecar-less clients; in the absolute URI through a sidecar. */
  path: string;
  /** Expected code; alternatives separated by `|` (e.g. `403|400`). */
  want: string;
  opts?: MeshRequestOptions;
  label?: string;
  /** When the app answers: the request URL it must have received (the normalised path). */
  appUrl?: string;
}

/** Local answers of the sidecar: the request must never reach the app. */
const PROXY_ANSWERS = new Set(['400', '401', '403', '000']);

/** Applies policies to a world and checks calls: codes, who answered, what the app saw. */
export class PolicyChecker {
  private n = 0;
  constructor(private readonly world: World) {}

  /** Writes authz.yaml (or removes it), waits for every ACK and for old filter chains to drain. */
  async apply(text: string | undefined): Promise<void> {
    await this.world.edit(() =>
      text === undefined ? removeConfigFile(this.world.cfg, POLICY_FILE) : writeConfigFile(this.world.cfg, POLICY_FILE, text),
    );
    await waitForDrained(this.world.envoys.values());
  }

  /** sleep.<from> calls httpbin.<to> with a fresh probe id. */
  async call(from: Namespace, to: Namespace, path: string, opts: MeshRequestOptions = {}): Promise<RawResponse & { probe: string }> {
    const probe = `p${++this.n}`;
    const r = await meshRequest(this.world.workload(`sleep.${from}`), this.world.workload(`httpbin.${to}`), path, { ...opts, probe });
    return { ...r, probe };
  }

  /**
   * Runs the probes (in parallel) and checks each: the code; a 403 is RBAC's
   * and a 401 jwt_authn's (body); a local answer (400/401/403/000) never reached httpbin, any other
   * answer did (httpbin logged the probe), with the URL `appUrl` if given.
   */
  async expect(step: string, probes: readonly PolicyProbe[]): Promise<void> {
    const results = await Promise.all(probes.map((p) => this.call(p.from, p.to, p.path, p.opts)));
    const wrong: string[] = [];
    probes.forEach((p, i) => {
      const r = results[i]!;
      const label = `${p.from}->${p.to} ${JSON.stringify(p.path)}${p.label ? ` (${p.label})` : ''}`;
      const log = this.world.apps.get(`httpbin.${p.to}`)!.log();
      const received = new RegExp(`^request ${r.probe} \\S+ (.*)$`, 'm').exec(log)?.[1];
      if (!p.want.split('|').includes(r.code)) wrong.push(`${label}: got ${describeResponse(r)}, want ${p.want}`);
      else if (r.code === '403' && r.body !== RBAC_DENIED) wrong.push(`${label}: 403 not from RBAC: ${r.body}`);
      else if (r.code === '401' && !/^(Jwt|Jwks) /.test(r.body)) wrong.push(`${label}: 401 not from jwt_authn: ${r.body}`);
      if (PROXY_ANSWERS.has(r.code) && received !== undefined) wrong.push(`${label}: answered ${r.code}, yet httpbin received ${received}`);
      if (!PROXY_ANSWERS.has(r.code) && received === undefined) wrong.push(`${label}: answered ${r.code}, yet httpbin never received it`);
      if (p.appUrl !== undefined && received !== undefined && received !== p.appUrl)
        wrong.push(`${label}: httpbin received ${received}, want ${p.appUrl}`);
    });
    assert.equal(wrong, [], `${step}:\n${wrong.join('\n')}`);
  }

  /** sleep.<from> GET httpbin.<to>/headers for all 9 pairs, as a matrix of codes (then checked in detail). */
  async matrix(step: string, expected: Matrix, opts: MeshRequestOptions = {}): Promise<void> {
    const cells = NAMESPACES.flatMap((from) => NAMESPACES.map((to) => [from, to] as const));
    const probes = cells.map(([from, to]) => ({ from, to, path: '/headers', want: expected[matrixKey(from, to)]!, opts }));
    const results = await Promise.all(probes.map((p) => this.call(p.from, p.to, p.path, p.opts)));
    const actual = Object.fromEntries(cells.map(([from, to], i) => [matrixKey(from, to), results[i]!.code]));
    assert.equal(actual, expected, `${step}: ${matrixDiff(actual, expected)}`);
    // Plain GETs (no token or extra header): what `meshlite matrix` predicts for the config on disk.
    if (Object.keys(opts).length === 0) assertMatrixPredicted(this.world.cfg.dir, actual, step);
    await this.expect(`${step} (details)`, probes);
  }
}
