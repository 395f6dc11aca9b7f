// `meshlite agent --group`: registers this host as a workload of a
// WorkloadGroup and keeps it registered (the Register stream stays open; it is
// reopened with backoff when it fails), running the group's probe here and
// reporting each change of verdict on the stream.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../util/logger.js';
import { ADS_SERVER_NAME } from '../xds/bootstrap.js';
import { RegistrationClient, type RegistrationRequest, type RegistrationResponse } from '../server/registration-protocol.js';
import { DEFAULT_BACKOFF, type BackoffSettings, RetryState } from './retry-backoff.js';
import { ProbeRunner, type ProbeVerdict } from './workload-probe.js';

export interface RegistrationAgentOptions {
  /** meshlite's ADS address, host:port. */
  controlPlane: string;
  group: string;
  address: string;
  /** The group token, read at each (re)connection. */
  token: () => string | undefined;
  /** PEM roots meshlite's serving certificate chains to; undefined: plaintext (meshlite --insecure). */
  rootCertPem?: string;
  /** Where probes connect; default `address`. */
  probeHost?: string;
  backoff?: BackoffSettings;
  logger: Logger;
}

export interface RegistrationStatus {
  workloadId?: string;
  connected: boolean;
  verdict?: ProbeVerdict;
  lastError?: string;
}

type RegisterCall = grpc.ClientDuplexStream<RegistrationRequest, RegistrationResponse>;

export class RegistrationAgent {
  private client: grpc.Client | undefined;
  private call: RegisterCall | undefined;
  private probe: ProbeRunner | undefined;
  private readonly retry: RetryState;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly state: RegistrationStatus = { connected: false };

  constructor(private readonly o: RegistrationAgentOptions) {
    this.retry = new RetryState(o.backoff ?? DEFAULT_BACKOFF);
  }

  start(): void {
    const credentials = this.o.rootCertPem
      ? grpc.credentials.createSsl(Buffer.from(this.o.rootCertPem))
      : grpc.credentials.createInsecure();
    this.client = new RegistrationClient(this.o.controlPlane, credentials, { 'grpc.ssl_target_name_override': ADS_SERVER_NAME });
    this.open();
  }

  status(): RegistrationStatus {
    return { ...this.state, verdict: this.probe?.current() };
  }

  /** Resolves with the workload id once meshlite registered this host. */
  async registered(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.state.workloadId || !this.state.connected) {
      if (Date.now() > deadline) throw new Error(`not registered within ${timeoutMs} ms: ${this.state.lastError ?? 'no answer'}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.state.workloadId;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.probe?.stop();
    this.call?.end();
    this.client?.close();
  }

  private open(): void {
    if (this.stopped || !this.client) return;
    const token = this.o.token();
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    const call = (this.client as unknown as { Register(md: grpc.Metadata): RegisterCall }).Register(metadata);
    this.call = call;
    let failed = false;
    const fail = (why: string) => {
      if (failed || this.call !== call) return;
      failed = true;
      this.state.connected = false;
      this.probe?.stop();
      this.probe = undefined;
      if (this.stopped) return;
      const { delayMs, attempt } = this.retry.failed(why);
      this.state.lastError = why;
      this.o.logger.warn({ group: this.o.group, err: why, retryInMs: delayMs, attempt }, 'registration stream failed; retrying');
      this.retryTimer = setTimeout(() => this.open(), delayMs);
      this.retryTimer.unref();
    };
    call.on('data', (response: RegistrationResponse) => {
      this.retry.reset();
      this.state.workloadId = response.workloadId;
      this.state.connected = true;
      this.state.lastError = undefined;
      this.o.logger.info({ workload: response.workloadId, group: this.o.group }, 'registered with meshlite');
      if (response.probe) {
        this.probe = new ProbeRunner(response.probe, this.o.probeHost ?? this.o.address, (verdict) => {
          this.o.logger.info(
            { healthy: verdict.healthy, message: verdict.message },
            'the workload probe verdict changed; reporting it to meshlite',
          );
          if (this.call === call) call.write({ health: verdict });
        });
        this.probe.start();
      }
    });
    call.on('error', (err: grpc.ServiceError) => fail(err.details || err.message));
    call.on('end', () => fail('meshlite ended the registration stream'));
    call.write({ group: this.o.group, address: this.o.address });
  }
}
