// The agent's SDS server over its Unix socket, spoken to by a gRPC client as
// Envoy speaks: `default` and `ROOTCA` as Secrets once their material exists,
// other names never; a push when they change and only then (an ACK, a NACK or
// an unchanged notification sends nothing); delta streams send only what the
// client does not hold. And the socket: 0600, a stale one replaced, anything
// else at the path refused.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HeldCertificate } from '../../src/agent/agent-types.js';
import { type SdsServer, startSdsServer } from '../../src/agent/sds-server.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { binaryToJson } from '../../src/proto/proto-json.js';
import { TYPE } from '../../src/xds/type-urls.js';
import { clientCodec } from '../support/client-codec.js';
import { heldFrom, MemorySecrets, recordingLogger, until } from '../support/agent/agent-fixtures.js';
import { after, before } from '../support/hooks.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlite-sds-'));
const socketPath = join(dir, 'sds.sock');
const log = recordingLogger();
const secrets = new MemorySecrets();
let ca: CertificateAuthority;
let server: SdsServer;
const held: HeldCertificate[] = [];
const clients: grpc.Client[] = [];

before(test, async () => {
  ca = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'ca'), trustDomain: 'cluster.local' });
  for (let i = 0; i < 4; i++) held.push(await heldFrom(ca));
  server = await startSdsServer({ socketPath, secrets, logger: log });
});
after(test, async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Stream {
  responses: Buffer[];
  send(bytes: Uint8Array): void;
  /** Waits for response number `n` (1-based) and returns it. */
  nth(n: number): Promise<Buffer>;
  status: Promise<grpc.StatusObject>;
}

function open(method: 'StreamSecrets' | 'DeltaSecrets', path = socketPath): Stream {
  const client = new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure());
  clients.push(client);
  const call = client.makeBidiStreamRequest(
    `/envoy.service.secret.v3.SecretDiscoveryService/${method}`,
    (b: Uint8Array) => Buffer.from(b),
    (b: Buffer) => b,
  );
  const responses: Buffer[] = [];
  call.on('data', (b: Buffer) => responses.push(b));
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', resolve);
    call.on('error', () => undefined);
  });
  return {
    responses,
    send: (bytes) => call.write(bytes),
    async nth(n) {
      await until(`response ${n}`, () => responses.length >= n, 5000);
      return responses[n - 1]!;
    },
    status,
  };
}

type SecretJson = { name: string; tls_certificate?: any; validation_context?: any };
const secretsOf = (resources: { value: Uint8Array }[]) =>
  resources.map((r) => binaryToJson('envoy.extensions.transport_sockets.tls.v3.Secret', r.value) as SecretJson);
const sotw = (bytes: Buffer) => {
  const r = clientCodec.decodeSotwResponse(bytes);
  return { ...r, secrets: secretsOf(r.resources) };
};
const delta = (bytes: Buffer) => {
  const r = clientCodec.decodeDeltaResponse(bytes);
  return { ...r, secrets: secretsOf(r.resources) };
};
const request = (names: string[], nonce = '', version = '', error?: string) =>
  clientCodec.encodeSotwRequest({
    typeUrl: TYPE.secret,
    resourceNames: names,
    responseNonce: nonce,
    versionInfo: version,
    errorDetail: error ? { code: 3, message: error } : undefined,
  });

test('the socket is a socket only its owner may open', () => {
  const stat = statSync(socketPath);
  assert.ok(stat.isSocket());
  assert.is(stat.mode & 0o777, 0o600);
});

test('state of the world: what exists of what was asked for, pushed on change, never an unknown name; ACK and NACK send nothing', async () => {
  secrets.set(undefined, ca.rootCertPem);
  const s = open('StreamSecrets');
  s.send(request(['ROOTCA', 'default', 'kubernetes://other']));
  const first = sotw(await s.nth(1));
  assert.is(first.typeUrl, TYPE.secret);
  assert.equal(first.secrets, [{ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: ca.rootCertPem } } }]);

  secrets.set(held[0]);
  const second = sotw(await s.nth(2));
  assert.equal(
    second.secrets.map((x) => x.name),
    ['ROOTCA', 'default'],
  );
  const cert = second.secrets[1]!.tls_certificate;
  assert.is(cert.certificate_chain.inline_string, held[0]!.certChainPem);
  assert.is(cert.private_key.inline_string, held[0]!.privateKeyPem);

  s.send(request(['ROOTCA', 'default', 'kubernetes://other'], first.nonce, first.versionInfo)); // stale: ignored
  s.send(request(['ROOTCA', 'default', 'kubernetes://other'], second.nonce, second.versionInfo)); // ACK
  secrets.touch(); // notified, nothing changed
  s.send(request(['ROOTCA', 'default', 'kubernetes://other'], second.nonce, first.versionInfo, 'bad key')); // NACK
  await until('the NACK is logged', () => log.matching(/NACK/).length === 1);
  assert.is(log.matching(/NACK/)[0]!.fields.error, 'bad key');
  secrets.set(held[1]);
  const third = sotw(await s.nth(3));
  assert.is(third.secrets[1]!.tls_certificate.certificate_chain.inline_string, held[1]!.certChainPem, 'the next response is the change');
  assert.is.not(third.versionInfo, second.versionInfo);
  assert.is.not(third.nonce, second.nonce);
  s.send(request(['default'], third.nonce, third.versionInfo));
  const fourth = sotw(await s.nth(4));
  assert.equal(
    fourth.secrets.map((x) => x.name),
    ['default'],
    'a narrower subscription is answered',
  );
  assert.is(s.responses.length, 4);
});

test('delta: only what the client does not hold yet, by name and version', async () => {
  secrets.set(held[1], ca.rootCertPem);
  const s = open('DeltaSecrets');
  s.send(clientCodec.encodeDeltaRequest({ typeUrl: TYPE.secret, subscribe: ['default', 'ROOTCA', 'nope'] }));
  const first = delta(await s.nth(1));
  assert.equal(
    first.secrets.map((x) => x.name),
    ['ROOTCA', 'default'],
  );
  s.send(clientCodec.encodeDeltaRequest({ typeUrl: TYPE.secret, responseNonce: first.nonce }));
  secrets.set(held[2]);
  const second = delta(await s.nth(2));
  assert.equal(
    second.secrets.map((x) => x.name),
    ['default'],
    'ROOTCA did not change',
  );
  assert.is(second.secrets[0]!.tls_certificate.certificate_chain.inline_string, held[2]!.certChainPem);

  const rootVersion = first.resources.find((r) => r.name === 'ROOTCA')!.version;
  const resumed = open('DeltaSecrets');
  resumed.send(
    clientCodec.encodeDeltaRequest({
      typeUrl: TYPE.secret,
      subscribe: ['default', 'ROOTCA'],
      initialResourceVersions: { ROOTCA: rootVersion },
    }),
  );
  const resumedFirst = delta(await resumed.nth(1));
  assert.equal(
    resumedFirst.secrets.map((x) => x.name),
    ['default'],
    'the version it already holds is not sent again',
  );
});

test('a request that does not decode ends that stream with INVALID_ARGUMENT; the server goes on', async () => {
  const bad = open('StreamSecrets');
  bad.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.is((await bad.status).code, grpc.status.INVALID_ARGUMENT);
  const good = open('StreamSecrets');
  good.send(request(['default']));
  assert.is(sotw(await good.nth(1)).secrets[0]!.name, 'default');
});

test('the path: a regular file and a live socket are refused; a stale socket is replaced, and removed on close', async () => {
  const file = join(dir, 'file.sock');
  writeFileSync(file, 'keep me');
  const refused = async (path: string) => {
    try {
      await startSdsServer({ socketPath: path, secrets, logger: log });
      return 'started';
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.match(await refused(file), /exists and is not a socket/);
  assert.match(await refused(socketPath), /in use by another process/);

  const stalePath = join(dir, 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stalePath)})`]);
  await until('the child listens', () => existsSync(stalePath));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(statSync(stalePath).isSocket(), 'a socket nobody listens on is left behind');
  const replacing = await startSdsServer({ socketPath: stalePath, secrets, logger: log });
  const s = open('StreamSecrets', stalePath);
  s.send(request(['ROOTCA']));
  assert.is(sotw(await s.nth(1)).secrets[0]!.name, 'ROOTCA');
  await replacing.close();
  assert.not.ok(existsSync(stalePath));
});

test.run();
