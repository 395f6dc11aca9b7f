// PEM framing (RFC 7468). Error messages name block labels and file names,
// never block contents: a misplaced private key must not end up in a log.
import { fail, ok, type Result } from './result.js';

/** DER bytes, typed so WebCrypto and @peculiar/x509 accept them as BufferSource. */
export type Der = Buffer<ArrayBuffer>;

export interface PemBlock {
  label: string;
  der: Der;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  let body = '';
  for (let at = 0; at < base64.length; at += 64) body += `${base64.slice(at, at + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** Every PEM block in a text, in order; text between blocks is ignored. */
export function pemBlocks(text: string): Result<PemBlock[]> {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, begin, body, end] = match;
    if (begin !== end) return fail(`a "${begin}" PEM block ends with "${end}"`);
    // Node's base64 decoder skips the line breaks and other white space itself.
    blocks.push({ label: begin!, der: Buffer.from(body!, 'base64') });
  }
  return ok(blocks);
}

/** Certificates (DER) from a PEM text that must hold only CERTIFICATE blocks, at least one. */
export function certificateBlocks(text: string, source: string): Result<Der[]> {
  const blocks = pemBlocks(text);
  if (!blocks.ok) return fail(`${source}: ${blocks.error}`);
  if (blocks.value.length === 0) return fail(`${source}: no PEM CERTIFICATE block found`);
  const other = blocks.value.find((b) => b.label !== 'CERTIFICATE');
  if (other) return fail(`${source}: holds a "${other.label}" PEM block where only certificates belong`);
  return ok(blocks.value.map((b) => b.der));
}
