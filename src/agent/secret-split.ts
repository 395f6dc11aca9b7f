// How the agent shares the Secret type between its Envoy and meshlite, as pure
// state (the relay performs the actions returned). Envoy asks one ADS stream
// for every secret: the agent answers LOCAL_SECRET_NAMES itself and relays the
// rest. Upstream it always subscribes ROOTCA too, for its own trust bundle.
//
// Every Secret response Envoy sees carries a nonce minted here, whether its
// resources are local or came from meshlite: both sources number their
// responses independently, and meshlite's numbering restarts with each
// upstream stream, so only the relay can tell which response Envoy answers.
// Versions pass through: a relayed response keeps meshlite's version.
import { ROOT_CA } from '../model/secret-refs.js';
import { LOCAL_SECRET_NAMES } from './agent-types.js';
import { trustBundleProblem } from './relay-codec.js';

export interface ErrorDetail {
  code: number;
  message: string;
}

/** A Secret request to send meshlite. */
export interface UpstreamSecretRequest {
  names: string[];
  versionInfo: string;
  nonce: string;
  errorDetail?: ErrorDetail;
}

export interface EnvoySecretRequest {
  names: readonly string[];
  nonce: string;
  errorDetail?: ErrorDetail;
}

/** What an Envoy request answered: a local response, a relayed one, nothing (initial), or an outdated one. */
export type EnvoyAnswer = 'local-ack' | 'local-nack' | 'relayed-ack' | 'relayed-nack' | 'initial' | 'stale';

export interface EnvoyRequestOutcome {
  answered: EnvoyAnswer;
  /** Send this to meshlite (an ACK/NACK Envoy made, or a subscription change). */
  upstream?: UpstreamSecretRequest;
  /** Envoy subscribed a local name it had not: answer its local names now. */
  respondLocally: boolean;
}

export interface UpstreamSecret {
  name: string;
  value: Uint8Array;
  trustedCaPem?: string;
}

export interface UpstreamSecretResponse {
  versionInfo: string;
  nonce: string;
  resources: readonly UpstreamSecret[];
}

export interface UpstreamOutcome {
  /** ROOTCA's PEM, when the response held a valid one. */
  trustBundle?: string;
  /** Relay these to Envoy (the names it asked for, minus the local ones) with this version and nonce. */
  toEnvoy?: { versionInfo: string; nonce: string; resources: UpstreamSecret[] };
  /** Send this to meshlite now: the relay's own ACK (nothing for Envoy) or NACK. */
  upstream?: UpstreamSecretRequest;
  /** Why the response was NACKed. */
  rejected?: string;
}

type Minted = { source: 'local' } | { source: 'upstream'; stream: number; upstreamNonce: string; versionInfo: string };

/** Nonces remembered: enough for responses Envoy has not answered yet. */
const REMEMBERED_NONCES = 32;
/** google.rpc.Code INVALID_ARGUMENT, the code of a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

export class SecretSplit {
  private envoyNames: string[] | undefined;
  /** The last meshlite version accepted (by Envoy for relayed responses, by the relay otherwise). */
  private acceptedVersion = '';
  private stream = 0;
  private open = false;
  /** Meshlite's latest Secret response on this stream, and whether it waits for Envoy's answer. */
  private latestUpstreamNonce: string | undefined;
  private latestAtEnvoy = false;
  private sentNamesKey: string | undefined;
  private mintedCount = 0;
  private latestLocalNonce: string | undefined;
  private latestRelayedNonce: string | undefined;
  private readonly minted = new Map<string, Minted>();

  constructor(private readonly localNames: ReadonlySet<string> = LOCAL_SECRET_NAMES) {}

  /** Local names Envoy subscribed to, sorted. */
  localWanted(): string[] {
    return (this.envoyNames ?? []).filter((n) => this.localNames.has(n));
  }

  /** Names Envoy subscribed to that meshlite serves, sorted. */
  remoteWanted(): string[] {
    return (this.envoyNames ?? []).filter((n) => !this.localNames.has(n));
  }

  /** What the relay subscribes upstream: Envoy's remote names and ROOTCA. */
  upstreamNames(): string[] {
    return sortedUnique([...this.remoteWanted(), ROOT_CA.name]);
  }

  /** A new upstream stream: its first Secret request (no nonce, the version last accepted). */
  upstreamOpened(): UpstreamSecretRequest {
    this.stream++;
    this.open = true;
    this.latestUpstreamNonce = undefined;
    this.latestAtEnvoy = false;
    return this.sent({ names: this.upstreamNames(), versionInfo: this.acceptedVersion, nonce: '' });
  }

  upstreamClosed(): void {
    this.open = false;
  }

  onEnvoyRequest(req: EnvoySecretRequest): EnvoyRequestOutcome {
    const hadLocal = new Set(this.localWanted());
    const answered = this.classify(req);
    this.envoyNames = sortedUnique(req.names);
    const respondLocally = this.localWanted().some((n) => !hadLocal.has(n));
    const names = this.upstreamNames();
    let upstream: UpstreamSecretRequest | undefined;
    const relayed = answered === 'relayed-ack' || answered === 'relayed-nack' ? this.minted.get(req.nonce) : undefined;
    if (relayed?.source === 'upstream') {
      // Envoy's verdict counts even when the stream that sent the response is gone: a new one starts from it.
      if (answered === 'relayed-ack') this.acceptedVersion = relayed.versionInfo;
      if (this.open && relayed.stream === this.stream && relayed.upstreamNonce === this.latestUpstreamNonce) {
        this.latestAtEnvoy = false;
        upstream = { names, versionInfo: this.acceptedVersion, nonce: relayed.upstreamNonce };
        if (req.errorDetail) upstream.errorDetail = req.errorDetail;
      }
    }
    if (!upstream && this.open && !this.latestAtEnvoy && keyOf(names) !== this.sentNamesKey) {
      // While a relayed response waits for Envoy's answer this waits too: that answer carries Envoy's names.
      upstream = { names, versionInfo: this.acceptedVersion, nonce: this.latestUpstreamNonce ?? '' };
    }
    return { answered, respondLocally, ...(upstream ? { upstream: this.sent(upstream) } : {}) };
  }

  onUpstreamResponse(res: UpstreamSecretResponse): UpstreamOutcome {
    this.latestUpstreamNonce = res.nonce;
    this.latestAtEnvoy = false;
    this.latestRelayedNonce = undefined;
    const root = res.resources.find((r) => r.name === ROOT_CA.name);
    if (root) {
      const problem = trustBundleProblem(root.trustedCaPem);
      if (problem) return { rejected: problem, upstream: this.reject(res.nonce, problem) };
    }
    const remote = new Set(this.remoteWanted());
    const forEnvoy = res.resources.filter((r) => remote.has(r.name));
    const out: UpstreamOutcome = root ? { trustBundle: root.trustedCaPem } : {};
    if (forEnvoy.length > 0) {
      const nonce = this.mint({ source: 'upstream', stream: this.stream, upstreamNonce: res.nonce, versionInfo: res.versionInfo });
      this.latestRelayedNonce = nonce;
      this.latestAtEnvoy = true;
      out.toEnvoy = { versionInfo: res.versionInfo, nonce, resources: forEnvoy };
    } else {
      this.acceptedVersion = res.versionInfo;
      out.upstream = this.sent({ names: this.upstreamNames(), versionInfo: res.versionInfo, nonce: res.nonce });
    }
    return out;
  }

  /** NACK meshlite's latest response, `nonce` (e.g. one whose resources do not decode). */
  reject(nonce: string, message: string): UpstreamSecretRequest {
    this.latestUpstreamNonce = nonce;
    this.latestAtEnvoy = false;
    this.latestRelayedNonce = undefined;
    return this.sent({
      names: this.upstreamNames(),
      versionInfo: this.acceptedVersion,
      nonce,
      errorDetail: { code: INVALID_ARGUMENT, message },
    });
  }

  /** The version and nonce of a local response about to be sent to Envoy. */
  nextLocalResponse(): { versionInfo: string; nonce: string } {
    const nonce = this.mint({ source: 'local' });
    this.latestLocalNonce = nonce;
    return { versionInfo: `agent-${this.mintedCount}`, nonce };
  }

  private classify(req: EnvoySecretRequest): EnvoyAnswer {
    if (req.nonce === '') return 'initial';
    const m = this.minted.get(req.nonce);
    if (!m) return 'stale';
    const latest = m.source === 'local' ? this.latestLocalNonce : this.latestRelayedNonce;
    if (req.nonce !== latest) return 'stale';
    if (m.source === 'local') return req.errorDetail ? 'local-nack' : 'local-ack';
    return req.errorDetail ? 'relayed-nack' : 'relayed-ack';
  }

  private mint(m: Minted): string {
    const nonce = `agent-${++this.mintedCount}`;
    this.minted.set(nonce, m);
    if (this.minted.size > REMEMBERED_NONCES) this.minted.delete(this.minted.keys().next().value!);
    return nonce;
  }

  private sent(req: UpstreamSecretRequest): UpstreamSecretRequest {
    this.sentNamesKey = keyOf(req.names);
    return req;
  }
}

function sortedUnique(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

function keyOf(names: readonly string[]): string {
  return names.join('\u0000');
}
