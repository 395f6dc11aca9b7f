// `meshlite ca issue`: a workload certificate for a process that reads files
// instead of SDS. The key is made here and never sent; the proxy token proves
// the identity. With --watch it keeps renewing (by the certificate itself) and
// rewrites the files until SIGTERM or SIGINT.
import { Command } from 'commander';
import { readTokenFile, tokenSubject } from '../agent/token-file.js';
import { readRootCertOrExit, ttlSecondsOrExit } from './certificate-flags.js';
import { exitWith } from './state.js';

interface CaIssueOptions {
  proxy: string;
  controlPlane: string;
  tokenFile: string;
  rootCert: string;
  out: string;
  watch?: boolean;
  ttl: string;
}

const fail = (message: string): never => exitWith(`meshlite ca issue: ${message}`);

export function caIssueCommand(): Command {
  return new Command('issue')
    .description(
      'get a workload certificate from a running meshlite (its key is made here and never sent) and write key.pem, cert-chain.pem and root-cert.pem',
    )
    .requiredOption('--proxy <name.namespace>', 'the workload the certificate is for (its token must name it)')
    .requiredOption('--control-plane <host:port>', "meshlite's ADS address")
    .requiredOption('--token-file <file>', 'a proxy token for the workload (`meshlite token`)')
    .requiredOption('--root-cert <file>', "meshlite's root certificate (state dir ca/root-cert.pem), to verify meshlite with")
    .requiredOption('-o, --out <dir>', 'directory for the files (created 0700; each file 0600, replaced atomically)')
    .option('--watch', 'keep renewing at half life until SIGTERM/SIGINT, rewriting the files each time')
    .option('--ttl <duration>', 'lifetime to ask for (meshlite grants at most its --cert-ttl)', '24h')
    .action(async (opts: CaIssueOptions) => {
      const ttlSeconds = ttlSecondsOrExit(opts.ttl, '--ttl', 'meshlite ca issue');
      const bundle = readRootCertOrExit(opts.rootCert, 'meshlite ca issue');
      const token = readToken(opts.tokenFile, opts.proxy);
      const [grpc, { CaClient }, { requestCertificate }, files] = await Promise.all([
        import('@grpc/grpc-js'),
        import('../agent/ca-client.js'),
        import('../agent/certificate-request.js'),
        import('../agent/certificate-files.js'),
      ]);
      const ca = new CaClient({ address: opts.controlPlane, trustBundlePem: () => bundle });
      const first = await requestCertificate({ ca, credential: { token }, validitySeconds: ttlSeconds });
      if (!first.ok) {
        ca.close();
        return fail(`CreateCertificate at ${opts.controlPlane} failed: ${grpc.status[first.code] ?? first.code}: ${first.message}`);
      }
      try {
        await files.writeCertificateFiles(opts.out, first.certificate, bundle);
      } catch (err) {
        ca.close();
        return fail(`cannot write to ${opts.out}: ${(err as Error).message}`);
      }
      process.stdout.write(`${files.describeHeld(first.certificate)} written to ${opts.out}\n`);
      if (!opts.watch) return ca.close();

      const [{ pino }, { CertificateManager }] = await Promise.all([import('pino'), import('../agent/certificate-manager.js')]);
      const logger = pino({ base: { command: 'ca issue' } }, pino.destination({ fd: 2, sync: true }));
      const manager = new CertificateManager({
        ca,
        token: () => readTokenFile(opts.tokenFile),
        tokenSource: `the token file ${opts.tokenFile}`,
        trustBundlePem: bundle,
        ttlSeconds,
        logger,
        initial: first.certificate,
      });
      let written = first.certificate;
      let writing = Promise.resolve();
      manager.onChange(() => {
        const held = manager.certificate();
        if (!held || held === written) return;
        written = held;
        writing = writing.then(async () => {
          try {
            await files.writeCertificateFiles(opts.out, held, manager.trustBundlePem());
            process.stdout.write(`${files.describeHeld(held)} written to ${opts.out}\n`);
          } catch (err) {
            logger.error({ dir: opts.out, error: (err as Error).message }, 'cannot write the renewed certificate');
          }
        });
      });
      await manager.start();
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      manager.stop();
      ca.close();
      await writing;
      logger.info({ signal }, 'stopped renewing');
      process.exit(0);
    });
}

function readToken(path: string, proxy: string): string {
  let token: string | undefined;
  try {
    token = readTokenFile(path);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!token) return fail(`no token in ${path} (make one with \`meshlite token --proxy ${proxy}\`)`);
  const subject = tokenSubject(token);
  if (subject !== undefined && subject !== proxy) return fail(`the token in ${path} is for ${subject}, not --proxy ${proxy}`);
  return token;
}
