// `meshlite agent --grpc`: no Envoy; a proxyless gRPC app on this host gets
// its xDS from the agent's relay and its mTLS material from files. The agent
// keeps <work-dir>/certs/{key,cert-chain,root-cert}.pem current (rewritten on
// every new certificate and every trust bundle change) and writes the app's
// gRPC bootstrap pointing at both.
import { join } from 'node:path';
import type { LocalSecrets } from './agent-types.js';
import { CERT_CHAIN_FILE, KEY_FILE, ROOT_CERT_FILE, writeCertificateFiles } from './certificate-files.js';
import type { AgentLogger } from './certificate-manager.js';
import { certificateRefreshSeconds, type GrpcCertificatePaths, grpcAgentBootstrap, writeGrpcBootstrap } from './grpc-bootstrap.js';
import type { StatusCheckResult } from './status-server.js';

export interface GrpcModeOptions {
  proxyId: string;
  cluster: string;
  workDir: string;
  bootstrapPath: string;
  /** The relay as a gRPC target for the app. */
  serverUri: string;
  certTtlSeconds?: number;
  secrets: LocalSecrets;
  logger: AgentLogger;
}

export interface GrpcModeStatus {
  bootstrap: string;
  serverUri: string;
  certificateFiles: GrpcCertificatePaths;
  refreshIntervalSeconds: number;
  /** Serial of the certificate the files hold now; undefined before the first write. */
  writtenSerial?: string;
  lastWriteError?: string;
}

export interface GrpcMode {
  status(): GrpcModeStatus;
  /** Passes once the files hold the certificate and trust bundle the agent holds now. */
  check(): StatusCheckResult;
  stop(): Promise<void>;
}

/** Writes the files and the bootstrap (the agent must already hold a certificate) and keeps the files current. */
export async function startGrpcMode(o: GrpcModeOptions): Promise<GrpcMode> {
  const certsDir = join(o.workDir, 'certs');
  const paths: GrpcCertificatePaths = {
    certificateFile: join(certsDir, CERT_CHAIN_FILE),
    privateKeyFile: join(certsDir, KEY_FILE),
    caCertificateFile: join(certsDir, ROOT_CERT_FILE),
  };
  const refreshIntervalSeconds = certificateRefreshSeconds(o.certTtlSeconds);
  const files = new CertificateFileSync(certsDir, o.secrets, o.logger);
  await files.writeNow();
  await writeGrpcBootstrap(
    o.bootstrapPath,
    grpcAgentBootstrap({ proxyId: o.proxyId, cluster: o.cluster, serverUri: o.serverUri, certificates: paths, refreshIntervalSeconds }),
  );
  const unwatch = o.secrets.onChange(() => files.changed());
  return {
    status: () => ({
      bootstrap: o.bootstrapPath,
      serverUri: o.serverUri,
      certificateFiles: paths,
      refreshIntervalSeconds,
      ...files.status(),
    }),
    check: () => files.check(),
    async stop() {
      unwatch();
      await files.stop();
    },
  };
}

/** One write at a time; a change during a write is written right after it, with whatever is current then. */
class CertificateFileSync {
  private written: { serial: string; bundle: string } | undefined;
  private writing: Promise<void> | undefined;
  private again = false;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly secrets: LocalSecrets,
    private readonly logger: AgentLogger,
  ) {}

  /** The first write: its failure is the agent's failure to start. */
  async writeNow(): Promise<void> {
    const held = this.secrets.certificate();
    if (!held) throw new Error('no workload certificate to write');
    const bundle = this.secrets.trustBundlePem();
    await writeCertificateFiles(this.dir, held, bundle);
    this.written = { serial: held.serialNumber, bundle };
  }

  changed(): void {
    if (this.stopped) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
    });
  }

  /** No more writes; resolves when the one under way (if any) is done. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    return this.writing ?? Promise.resolve();
  }

  status(): { writtenSerial?: string; lastWriteError?: string } {
    return {
      ...(this.written ? { writtenSerial: this.written.serial } : {}),
      ...(this.lastError !== undefined ? { lastWriteError: this.lastError } : {}),
    };
  }

  check(): StatusCheckResult {
    const held = this.secrets.certificate();
    const current =
      held !== undefined && this.written?.serial === held.serialNumber && this.written.bundle === this.secrets.trustBundlePem();
    if (current) return { name: 'certificate-files', ok: true, detail: `serial ${held.serialNumber} in ${this.dir}` };
    const why = this.lastError ?? 'not written yet for the current certificate';
    return { name: 'certificate-files', ok: false, detail: why };
  }

  private async writeLoop(): Promise<void> {
    do {
      this.again = false;
      if (this.stopped) return;
      const held = this.secrets.certificate();
      const bundle = this.secrets.trustBundlePem();
      if (!held || (this.written?.serial === held.serialNumber && this.written.bundle === bundle)) continue;
      try {
        await writeCertificateFiles(this.dir, held, bundle);
        this.written = { serial: held.serialNumber, bundle };
        this.lastError = undefined;
        this.logger.info({ serial: held.serialNumber, dir: this.dir }, 'wrote the renewed certificate files');
      } catch (err) {
        this.lastError = `cannot write the certificate files: ${(err as Error).message}`;
        this.logger.warn({ error: this.lastError }, 'certificate files not rewritten; retrying in 1 s');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.changed(), 1000);
        this.retryTimer.unref();
        return;
      }
    } while (this.again);
  }
}
