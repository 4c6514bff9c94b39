/**
 * The baseline of the benchmark (issue 15 §2): provisioning's protocol steps with the same `lib/`
 * code — the very activities the worker runs, `createActivities(deps)` — called in a plain loop at
 * a fixed concurrency, without Temporal. It mirrors `workflows/provision-device.ts` out of band,
 * step for step and input for input (the catalogue's step definitions name the activities), with
 * the step runner's retry rule (attempts per step, 2 s backoff doubling, at most a minute), and
 * nothing else: no history, no timers, no compensation, no operator decisions. What it costs is the
 * floor of this design on this machine.
 */
import type { DeviceSession, DeviceUuid, LifecycleActivities } from '../activities/contract';
import { CONNECT, INFRASTRUCTURE, REPORT, STAGE_ONE, STAGE_TWO, VALIDATE } from '../workflows/catalogue';
import type { StepDefinition } from '../workflows/step-runner';

type Name = keyof LifecycleActivities & string;
type Args<K extends Name> = Parameters<LifecycleActivities[K]>;
type Result<K extends Name> = Awaited<ReturnType<LifecycleActivities[K]>>;

const BACKOFF = { initialMs: 2_000, maximumMs: 60_000 } as const;

function isNonRetryable(err: unknown): boolean {
  return (err as { nonRetryable?: boolean } | undefined)?.nonRetryable === true;
}

/** One step: the activity, retried like the step runner retries it, then the last error. */
export async function runStep<K extends Name>(
  activities: LifecycleActivities,
  step: StepDefinition<K>,
  ...args: Args<K>
): Promise<Result<K>> {
  const fn = activities[step.activity] as (...a: Args<K>) => Promise<Result<K>>;
  let delay: number = BACKOFF.initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(...args);
    } catch (err) {
      if (step.retry === 'validation' || isNonRetryable(err) || attempt >= step.attempts) {
        throw new Error(`${step.id} ${step.title}: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, BACKOFF.maximumMs);
    }
  }
}

/** Out-of-band provisioning of one device, as provisionDevice runs it (OOB2 … OOB10). */
export async function provisionWithoutTemporal(
  activities: LifecycleActivities,
  deviceUuid: DeviceUuid,
  runId: string,
): Promise<{ certificateSerial: string; credentialRef: string }> {
  const key = (stepId: string) => `baseline/${deviceUuid}/${runId}/${stepId}`;
  const run = <K extends Name>(step: StepDefinition<K>, ...args: Args<K>) => runStep(activities, step, ...args);

  const device = await run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
  const { amtVersion, protocol } = await run(VALIDATE.version, { deviceUuid });
  await run(VALIDATE.directory, { deviceUuid, fqdn: device.fqdn, domain: device.domain });
  await run(VALIDATE.rootHash, { deviceUuid });

  const templates = ['amt-web-server' as const, 'ieee8021x-client' as const];
  await run(INFRASTRUCTURE.revoke, { deviceUuid, reason: 'superseded', templates });
  await run(INFRASTRUCTURE.publish, { deviceUuid, idempotencyKey: key(INFRASTRUCTURE.publish.id) });
  await run(INFRASTRUCTURE.spns, { deviceUuid });

  await run(CONNECT.tls, { deviceUuid, protocol });
  const login = await run(CONNECT.login, { session: { deviceUuid, tls: 'provisioning', protocol } });
  let session: DeviceSession = { deviceUuid, tls: 'provisioning', protocol, credentialRef: login.credentialRef };
  const certificate = await run(CONNECT.certificate, {
    session,
    fqdn: device.fqdn,
    idempotencyKey: key(CONNECT.certificate.id),
  });

  await run(STAGE_ONE.clock, { session });
  await run(STAGE_ONE.hostName, { session, hostName: device.hostName, domain: device.domain });
  await run(STAGE_ONE.tls, { session, serial: certificate.serial });
  const admin = await run(STAGE_ONE.adminPassword, { session, idempotencyKey: key(STAGE_ONE.adminPassword.id) });
  session = { ...session, credentialRef: admin.credentialRef };
  await run(STAGE_ONE.mebx, { session, idempotencyKey: key(STAGE_ONE.mebx.id) });
  await run(STAGE_ONE.commit, { session });

  const stageTwo: DeviceSession = { ...session, tls: 'managed' };
  const second = await run(STAGE_TWO.login, { session: stageTwo });
  const managed = { ...stageTwo, credentialRef: second.credentialRef };
  const { accounts } = await run(STAGE_TWO.sids, { deviceUuid });
  await run(STAGE_TWO.acl, { session: managed, accounts });
  await run(STAGE_TWO.features, { session: managed });
  await run(STAGE_TWO.kerberos, { session: managed });
  await run(STAGE_TWO.power, { session: managed });
  await run(STAGE_TWO.network, { session: managed, update: false, idempotencyKey: key(STAGE_TWO.network.id) });

  await run(REPORT.result, {
    deviceUuid,
    operation: 'provision',
    stageReached: 'stage-two',
    summary: `out-of-band provisioning of ${device.fqdn} (AMT ${amtVersion})`,
    outcome: 'succeeded',
    workflowId: `baseline/${deviceUuid}`,
    idempotencyKey: key(`${REPORT.result.id}/provision`),
  });
  return { certificateSerial: certificate.serial, credentialRef: admin.credentialRef };
}

/** Runs `work` over `items` with at most `concurrency` in flight; resolves with each item's outcome. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<Array<{ item: T; result?: R; error?: Error }>> {
  const out: Array<{ item: T; result?: R; error?: Error }> = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        out.push({ item, result: await work(item) });
      } catch (err) {
        out.push({ item, error: err as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return out;
}
