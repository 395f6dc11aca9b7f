// What authenticates an ADS stream and for how long: the credential types the
// authenticator hands the server, and the timer that ends a stream when its
// credential expires (a proxy token, or an agent's workload certificate).
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from './discovery-codec.js';
import { setLongTimeout } from './long-timer.js';
import type { Logger } from '../util/logger.js';

/** What authenticated a stream; times are milliseconds since the epoch. */
export interface StreamCredential {
  /** A proxy token (the default), or a workload certificate this CA issued (node agents). */
  kind?: 'token' | 'certificate';
  /** The token's id, or the certificate's serial number. */
  id?: string;
  issuedAt?: number;
  /** The stream is closed (UNAUTHENTICATED) at this moment. */
  expiresAt?: number;
}

export type AuthResult = { ok: true; proxyId: string; credential?: StreamCredential } | { ok: false; code: grpc.status; message: string };

/** The TLS client certificate of a stream's connection. */
export interface PeerCertificate {
  /** DER, when OpenSSL verified it against the CA's roots during the handshake. */
  verified?: Buffer;
  /** Why one that was presented was not verified. */
  rejection?: string;
}

export interface StreamAuthenticator {
  authenticate(metadata: grpc.Metadata, node: NodeInfo, peer: string, certificate?: PeerCertificate): Promise<AuthResult>;
}

/** Why meshlite itself ended a stream (a metric label). */
export type StreamCloseReason =
  | 'refused'
  | 'auth_timeout'
  | 'token_expired'
  | 'certificate_expired'
  | 'token_revoked'
  | 'malformed_request'
  /** The peer read none of a response for the write budget's deadMs. */
  | 'stalled'
  /** The same proxy opened a newer stream on the same connection before this one answered anything. */
  | 'superseded';

/** A stream expiring within this long of its start logs a warning (tokens only: agents renew certificates early). */
const EXPIRY_WARNING_MS = 24 * 3600 * 1000;

export type CloseStream = (code: grpc.status, message: string, reason: StreamCloseReason) => void;

/** Warns about a token that expires soon, and closes the stream the moment its credential expires; returns the cancel. */
export function watchCredentialExpiry(
  logger: Logger,
  proxyId: string,
  streamId: number,
  credential: StreamCredential & { expiresAt: number },
  close: CloseStream,
): () => void {
  const { expiresAt } = credential;
  const left = expiresAt - Date.now();
  if (credential.kind === 'certificate') {
    // A node agent renews its certificate long before this and reconnects with the new one.
    const message = `client certificate ${credential.id} expired at ${isoOf(expiresAt)}`;
    return setLongTimeout(() => close(grpc.status.UNAUTHENTICATED, message, 'certificate_expired'), left);
  }
  if (left < EXPIRY_WARNING_MS) {
    logger.warn(
      { proxy: proxyId, streamId, tokenId: credential.id, tokenExpiresAt: isoOf(expiresAt) },
      `proxy token expires in ${Math.max(0, Math.round(left / 60_000))} min; the stream will be closed then: make a new bootstrap (or token) for it`,
    );
  }
  return setLongTimeout(() => close(grpc.status.UNAUTHENTICATED, `token expired at ${isoOf(expiresAt)}`, 'token_expired'), left);
}

/** Log fields naming a stream's credential. */
export function credentialFields(c: StreamCredential | undefined): Record<string, string | undefined> {
  if (!c) return {};
  return c.kind === 'certificate'
    ? { certificateSerial: c.id, certificateExpiresAt: isoOf(c.expiresAt) }
    : { tokenId: c.id, tokenExpiresAt: isoOf(c.expiresAt) };
}

function isoOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
