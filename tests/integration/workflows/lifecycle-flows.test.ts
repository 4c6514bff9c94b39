import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type ApplicationFailure,
  type WorkflowHandle,
} from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { OperationInFlightError, startLifecycle } from '../../../runtime/lifecycle-client';
import {
  operatorDecisionUpdate,
  progressQuery,
  renameCompletedSignal,
  wiredIeee8021xDecisionSignal,
  wiredIeee8021xDecisionUpdate,
} from '../../../workflows/messages';
import { SEARCH_ATTRIBUTES } from '../../../workflows/names';
import { waitFor } from '../../../scripts/lib/process';
import { fakeLifecycleActivities, type Outcome } from '../../support/fake-lifecycle';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';
import type { LifecycleActivities } from '../../../activities/contract';
import { newDeviceUuid as newDevice } from '../../support/device-uuid';

/**
 * The lifecycle workflows' own logic, with activities that only record their calls: step order
 * per spec, validation, operator decisions, compensation and one operation per device. The same
 * flows against the emulator, Samba, the CA and the database are in tests/integration/lifecycle.
 * Workers run the test bundle, whose durable timers are shortened (tests/support/fast-timers.ts).
 */
/** What provisioning and update both end with: stage two after its login, then the result. */
const STAGE_TWO_AND_RESULT = ['I8', 'OOB9.1', 'OOB9.2', 'OOB9.3a', 'OOB9.3b', 'OOB9.4', 'OOB10'];
const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');

const OOB_ORDER = [
  'loadImportedDevice',
  'probeAmtVersion',
  'checkDirectoryPrerequisites',
  'matchTrustedRoot',
  'connectForProvisioning',
  'loginWithDigest',
  'requestWebServerCertificate',
  'setAmtClock',
  'setHostNameAndDomain',
  'installCertificateAndEnableTls',
  'setAdminPassword',
  'setMebxPassword',
  'commitSetup',
  'revokeDeviceCertificates',
  'publishAmtAccount',
  'registerSpns',
  'loginWithDigest',
  'resolveAccountSids',
  'configureAccessControl',
  'configureFeatures',
  'enableKerberos',
  'setPowerPolicy',
  'configureNetworkAuthentication',
  'recordResult',
];

describe('lifecycle workflows (fake activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectTestEnv();
  });
  afterAll(async () => env?.teardown());

  async function withWorker<T>(
    script: Partial<Record<keyof LifecycleActivities, Outcome[]>>,
    body: (ctx: { taskQueue: string; fake: ReturnType<typeof fakeLifecycleActivities>; worker: Worker }) => Promise<T>,
    override: Partial<LifecycleActivities> = {},
  ): Promise<T> {
    const fake = fakeLifecycleActivities(script);
    const taskQueue = uniqueQueue('lifecycle');
    const worker = await createTestWorker(env, { taskQueue, activities: { ...fake.activities, ...override } });
    return worker.runUntil(() => body({ taskQueue, fake, worker }));
  }

  /**
   * Keeps the history of the run `handle` started as a replay fixture when asked to
   * (AMTFLOW_WRITE_FIXTURES=1): that run's own, not the last of its chain (a rename continues as
   * the device's provisioning run).
   */
  async function keepHistory(handle: WorkflowHandle, name: string): Promise<void> {
    if (process.env.AMTFLOW_WRITE_FIXTURES !== '1') return;
    const last = await handle.fetchHistory();
    const firstRunId = last.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
    const history = firstRunId
      ? await env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory()
      : last;
    writeFileSync(path.join(FIXTURES, `${name}.json`), historyToJSON(history));
  }

  const failureType = (err: unknown) => ((err as WorkflowFailedError).cause as ApplicationFailure).type;

  it('provisions out of band in the order of OOB2–OOB10, visible in progress and search attributes', async () => {
    await withWorker({}, async ({ taskQueue, fake }) => {
      const deviceUuid = newDevice();
      const handle = await startLifecycle(
        env.client,
        'provision',
        { deviceUuid, mode: 'out-of-band', requestedBy: 'hello' },
        { taskQueue },
      );
      const result = await handle.result();
      expect(result).toMatchObject({
        deviceUuid,
        fqdn: 'amt-0001.corp.example.test',
        certificateSerial: '0a1b2c',
        credentialRef: 'admin:2',
      });
      expect(fake.names()).toEqual(OOB_ORDER);
      const progress = await handle.query(progressQuery);
      expect(progress.state).toBe('completed');
      // The run lists its own steps only: no in-band step, no undo step, every one done once.
      expect(progress.steps.map((s) => s.id)).toEqual([
        'OOB2',
        'P2',
        'P4',
        'OOB3',
        'OOB4',
        'OOB6',
        'I2',
        'OOB8.1',
        'OOB8.2',
        'OOB8.3',
        'OOB8.4',
        'OOB8.5',
        'OOB8.6',
        'I1',
        'I3',
        'I4',
        'OOB9.0',
        ...STAGE_TWO_AND_RESULT,
      ]);
      expect(progress.steps.filter((s) => s.status !== 'succeeded' || s.attempts !== 1)).toEqual([]);
      expect(progress.steps.find((s) => s.id === 'OOB8.2')).toMatchObject({
        title: 'set host name and domain',
        status: 'succeeded',
        attempts: 1,
      });
      const attributes = (await handle.describe()).typedSearchAttributes;
      expect(attributes.get(SEARCH_ATTRIBUTES.deviceUuid)).toBe(deviceUuid);
      expect(attributes.get(SEARCH_ATTRIBUTES.fqdn)).toBe('amt-0001.corp.example.test');
      expect(attributes.get(SEARCH_ATTRIBUTES.collection)).toBe('lab');
      expect(attributes.get(SEARCH_ATTRIBUTES.operation)).toBe('provision');
      expect(attributes.get(SEARCH_ATTRIBUTES.stage)).toBe('COMPLETED');
      await keepHistory(handle, 'provision-out-of-band');
    });
  });

  it('provisions in band: verifies the OTP hash after the Digest login (IB5)', async () => {
    await withWorker({}, async ({ taskQueue, fake }) => {
      const handle = await startLifecycle(
        env.client,
        'provision',
        { deviceUuid: newDevice(), mode: 'in-band', requestedBy: 'agent' },
        { taskQueue },
      );
      await handle.result();
      const names = fake.names();
      expect(names.indexOf('verifyOneTimePassword')).toBe(names.indexOf('loginWithDigest') + 1);
      const ids = (await handle.query(progressQuery)).steps.map((s) => s.id);
      expect(ids.slice(0, 2)).toEqual(['IB9', 'P2']);
      expect(ids).not.toContain('OOB2');
      expect(ids.indexOf('IB5')).toBe(ids.indexOf('OOB6') + 1);
      // I5 (in band only) once the account and its SPNs exist.
      expect(ids.indexOf('I5')).toBe(ids.indexOf('I4') + 1);
      expect(names.indexOf('joinSecurityGroups')).toBe(names.indexOf('registerSpns') + 1);
      await keepHistory(handle, 'provision-in-band');
    });
  });

  it('ends with the typed validation error and touches nothing else', async () => {
    await withWorker(
      { checkDirectoryPrerequisites: [{ invalid: 'NON_CONTIGUOUS_NAMESPACE' }] },
      async ({ taskQueue, fake }) => {
        const handle = await startLifecycle(
          env.client,
          'provision',
          { deviceUuid: newDevice(), mode: 'out-of-band', requestedBy: 'hello' },
          { taskQueue },
        );
        expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('NON_CONTIGUOUS_NAMESPACE');
        expect(fake.names()).toEqual(['loadImportedDevice', 'probeAmtVersion', 'checkDirectoryPrerequisites']);
      },
    );
  });

  it('refuses a second operation while one is in flight, and an abort undoes what the run did', async () => {
    await withWorker({ setAdminPassword: ['fail', 'fail', 'fail'] }, async ({ taskQueue, fake }) => {
      const deviceUuid = newDevice();
      const handle = await startLifecycle(
        env.client,
        'provision',
        { deviceUuid, mode: 'out-of-band', requestedBy: 'hello' },
        { taskQueue },
      );
      await waitFor(
        'the run to park at OOB8.4',
        async () => (await handle.query(progressQuery)).awaiting?.step === 'OOB8.4',
        30_000,
        100,
      );
      expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('AWAITING_OPERATOR');

      const refused = await startLifecycle(
        env.client,
        'update',
        { deviceUuid, requestedBy: 'alice' },
        { taskQueue },
      ).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OperationInFlightError);
      expect((refused as Error).message).toMatch(/already has a provision operation in flight/);

      await handle.executeUpdate(operatorDecisionUpdate, {
        args: [{ action: 'abort', operator: 'alice', reason: 'device returned' }],
      });
      expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
      const undo = fake.calls.slice(fake.calls.findIndex((c) => c.name === 'setAdminPassword'));
      expect(fake.calls.find((c) => c.name === 'recordAudit')?.input).toMatchObject({
        actor: 'alice',
        action: 'provision.abort',
        target: deviceUuid,
        details: { step: 'OOB8.4', reason: 'device returned' },
      });
      // Before commit the run touched neither the directory nor earlier certificates: its undo
      // revokes only the certificate its own I2 request issued (issue 9, abort matrix).
      expect(undo.map((c) => c.name).filter((n) => n !== 'recordAudit')).toEqual([
        'setAdminPassword',
        'setAdminPassword',
        'setAdminPassword',
        'revokeDeviceCertificates',
      ]);
      const i2 = fake.calls.find((c) => c.name === 'requestWebServerCertificate')?.input as { idempotencyKey: string };
      expect(fake.calls.find((c) => c.name === 'revokeDeviceCertificates')?.input).toMatchObject({
        requestIds: [i2.idempotencyKey],
      });
      expect(fake.names()).not.toContain('publishAmtAccount');
      const steps = (await handle.query(progressQuery)).steps;
      expect(steps.find((s) => s.id === 'I2')?.status).toBe('compensated');
      expect(steps.find((s) => s.id === 'OOB8.4')).toMatchObject({ status: 'failed', attempts: 3 });
      // The decision's audit and the undo step join the run's steps when they run, in that order.
      expect(steps.slice(-2).map((s) => [s.id, s.status])).toEqual([
        ['P7', 'succeeded'],
        ['I2.undo', 'succeeded'],
      ]);
      await keepHistory(handle, 'provision-aborted');
    });
  });

  it('aborted at OOB8.6 after a commit that took effect, reads the firmware and keeps the work instead of revoking', async () => {
    // The OOB6 login finds the firmware in setup; the read after the abort (with the admin password
    // OOB8.4 set) finds it post-provisioning: the commit's answer was lost, not the commit.
    const loginWithDigest: LifecycleActivities['loginWithDigest'] = async ({ session }) => ({
      credentialRef: session.credentialRef ?? 'admin:1',
      provisioningState: session.credentialRef === 'admin:2' ? 'post' : 'in',
    });
    await withWorker(
      { commitSetup: ['fail', 'fail', 'fail'] },
      async ({ taskQueue, fake }) => {
        const deviceUuid = newDevice();
        const handle = await startLifecycle(
          env.client,
          'provision',
          { deviceUuid, mode: 'out-of-band', requestedBy: 'hello' },
          { taskQueue },
        );
        await waitFor(
          'the run to park at OOB8.6',
          async () => (await handle.query(progressQuery)).awaiting?.step === 'OOB8.6',
          60_000,
          100,
        );
        await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', operator: 'alice' }] });
        expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
        expect(fake.names()).not.toContain('revokeDeviceCertificates');
        expect(fake.calls.find((c) => c.name === 'recordResult')?.input).toMatchObject({
          outcome: 'aborted',
          stageReached: 'stage-one',
        });
        const steps = (await handle.query(progressQuery)).steps;
        expect(steps.slice(-3).map((s) => [s.id, s.status])).toEqual([
          ['P7', 'succeeded'],
          ['OOB8.6.read', 'succeeded'],
          ['OOB8.6.keep', 'succeeded'],
        ]);
        await keepHistory(handle, 'provision-aborted-after-commit-read');
      },
      { loginWithDigest },
    );
  });

  it('updates: refreshes the directory and 802.1X certificates, re-applies stage two, keeps the web-server certificate', async () => {
    await withWorker({}, async ({ taskQueue, fake }) => {
      const handle = await startLifecycle(
        env.client,
        'update',
        { deviceUuid: newDevice(), requestedBy: 'alice' },
        { taskQueue },
      );
      await handle.result();
      expect(fake.names()).toEqual([
        'loadImportedDevice',
        'probeAmtVersion',
        'loginWithDigest',
        'setAmtClock',
        'publishAmtAccount',
        'registerSpns',
        'resolveAccountSids',
        'configureAccessControl',
        'configureFeatures',
        'enableKerberos',
        'setPowerPolicy',
        'checkWiredIeee8021xUpdate',
        'configureNetworkAuthentication',
        'revokeDeviceCertificates',
        'recordResult',
      ]);
      expect(fake.calls.find((c) => c.name === 'revokeDeviceCertificates')?.input).toMatchObject({
        templates: ['ieee8021x-client'],
      });
      expect(fake.calls.find((c) => c.name === 'configureNetworkAuthentication')?.input).toMatchObject({
        update: true,
      });
      // UPD1 is the update's login; stage two's own login (OOB9.0) is not a step of an update.
      const steps = (await handle.query(progressQuery)).steps;
      expect(steps.map((s) => s.id)).toEqual([
        'OOB2',
        'P2',
        'UPD1',
        'I7',
        'UPD2',
        'UPD2.1',
        ...STAGE_TWO_AND_RESULT.slice(0, -2),
        'UPD4',
        'OOB9.4',
        'UPD3',
        'OOB10',
      ]);
      expect(steps.every((s) => s.status === 'succeeded')).toBe(true);
      await keepHistory(handle, 'update');
    });
  });

  it.each([
    [true, false],
    [false, true],
  ])(
    'UPD4: waits at the warning, then does what the operator answers (apply %s: skipWired %s), audited',
    async (apply, skipWired) => {
      const checkWiredIeee8021xUpdate: LifecycleActivities['checkWiredIeee8021xUpdate'] = async () => ({
        hostState: 'off',
        warning: 'the host is off, so its operating system is not running',
      });
      await withWorker(
        {},
        async ({ taskQueue, fake }) => {
          const deviceUuid = newDevice();
          const handle = await startLifecycle(
            env.client,
            'update',
            { deviceUuid, requestedBy: 'alice' },
            { taskQueue },
          );
          await waitFor(
            'the update to wait at UPD4',
            async () => (await handle.query(progressQuery)).waiting?.step === 'UPD4',
            30_000,
            100,
          );
          const waiting = await handle.query(progressQuery);
          expect(waiting.state).toBe('waiting-for-signal');
          expect(waiting.waiting?.message).toContain(`amtflow wired-8021x ${deviceUuid} --apply`);
          expect(fake.names()).not.toContain('configureNetworkAuthentication');
          // A malformed answer is refused to the caller (the API's 409), and ignored as a signal:
          // "false" is a string, which the run must not read as apply.
          const malformed = { apply: String(!apply) as unknown as boolean, operator: 'mallory' };
          await expect(handle.executeUpdate(wiredIeee8021xDecisionUpdate, { args: [malformed] })).rejects.toThrow(
            WorkflowUpdateFailedError,
          );
          await handle.signal(wiredIeee8021xDecisionSignal, malformed);
          await handle.executeUpdate(wiredIeee8021xDecisionUpdate, {
            args: [{ apply, operator: 'bob', reason: 'ticket 7' }],
          });
          await handle.result();
          const network = fake.calls.find((c) => c.name === 'configureNetworkAuthentication')?.input;
          expect((network as { skipWired?: boolean }).skipWired ?? false).toBe(skipWired);
          expect(fake.calls.find((c) => c.name === 'recordAudit')?.input).toMatchObject({
            actor: 'bob',
            action: `update.wired-8021x.${apply ? 'apply' : 'skip'}`,
            target: deviceUuid,
            details: { step: 'UPD4', hostState: 'off', reason: 'ticket 7' },
          });
        },
        { checkWiredIeee8021xUpdate },
      );
    },
  );

  it.each(['partial', 'full'] as const)(
    'removes provisioning (%s): unprovision, revoke, delete the directory account',
    async (mode) => {
      await withWorker({}, async ({ taskQueue, fake }) => {
        const handle = await startLifecycle(
          env.client,
          'remove',
          { deviceUuid: newDevice(), mode, requestedBy: 'alice' },
          { taskQueue },
        );
        expect(await handle.result()).toMatchObject({ mode });
        expect(fake.names()).toEqual([
          'loadImportedDevice',
          'probeAmtVersion',
          'loginWithDigest',
          'unprovisionDevice',
          'revokeDeviceCertificates',
          'leaveSecurityGroups',
          'deleteAmtAccount',
          'recordResult',
        ]);
        expect(fake.calls.find((c) => c.name === 'unprovisionDevice')?.input).toMatchObject({ mode });
        await keepHistory(handle, `remove-${mode}`);
      });
    },
  );

  it.each([
    ['stolen', 'keyCompromise'],
    ['scrapped', 'cessationOfOperation'],
  ] as const)(
    'forgets a %s device without reaching it: revoke (%s), delete the directory account, remove its records',
    async (reason, revocation) => {
      await withWorker({}, async ({ taskQueue, fake }) => {
        const deviceUuid = newDevice();
        const handle = await startLifecycle(
          env.client,
          'forget',
          { deviceUuid, reason, note: 'asset 4711', requestedBy: 'alice' },
          { taskQueue },
        );
        expect(await handle.result()).toMatchObject({ deviceUuid, directoryObjectDeleted: true });
        // Nothing talks to the firmware, and no result is recorded for a device that is no more.
        expect(fake.names()).toEqual([
          'loadImportedDevice',
          'revokeDeviceCertificates',
          'deleteAmtAccount',
          'forgetDeviceRecords',
        ]);
        expect(fake.calls.find((c) => c.name === 'revokeDeviceCertificates')?.input).toMatchObject({
          reason: revocation,
          templates: ['amt-web-server', 'ieee8021x-client'],
        });
        expect(fake.calls.find((c) => c.name === 'forgetDeviceRecords')?.input).toMatchObject({
          deviceUuid,
          reason,
          note: 'asset 4711',
          requestedBy: 'alice',
          workflowId: handle.workflowId,
          idempotencyKey: expect.stringMatching(/\/DEP2\.forget$/),
        });
        await keepHistory(handle, `forget-${reason}`);
      });
    },
  );

  it('renames: removes fully with automatic provisioning off, waits for the rename, then provisions again', async () => {
    const checkRenameComplete: LifecycleActivities['checkRenameComplete'] = async (input) => ({
      complete: input.confirmedBy !== undefined,
    });
    await withWorker(
      {},
      async ({ taskQueue, fake }) => {
        const deviceUuid = newDevice();
        const handle = await startLifecycle(
          env.client,
          'rename_or_move',
          {
            deviceUuid,
            hostName: 'amt-0001-new',
            domain: 'corp.example.test',
            mode: 'out-of-band',
            requestedBy: 'alice',
          },
          { taskQueue },
        );
        await waitFor(
          'the rename to wait for REN2',
          async () => (await handle.query(progressQuery)).steps.find((s) => s.id === 'REN2')?.status === 'waiting',
          30_000,
          100,
        );
        const enabledBefore = fake.calls
          .filter((c) => c.name === 'setAutomaticProvisioning')
          .map((c) => (c.input as { enabled: boolean }).enabled);
        expect(enabledBefore).toEqual([false]);
        await handle.signal(renameCompletedSignal, {
          hostName: 'amt-0001-new',
          domain: 'corp.example.test',
          operator: 'alice',
        });
        const result = await handle.result();
        expect(result).toMatchObject({ deviceUuid });
        const names = fake.names();
        expect(names.slice(0, 10)).toEqual([
          // REN1: the new name and domain pass P4 before anything is removed.
          'checkDirectoryPrerequisites',
          'setAutomaticProvisioning',
          'loadImportedDevice',
          'probeAmtVersion',
          'loginWithDigest',
          'unprovisionDevice',
          'revokeDeviceCertificates',
          'leaveSecurityGroups',
          'deleteAmtAccount',
          'recordResult',
        ]);
        const reEnabled = names.lastIndexOf('setAutomaticProvisioning');
        expect(names.slice(reEnabled + 1)).toEqual(OOB_ORDER);
        await keepHistory(handle, 'rename');
      },
      { checkRenameComplete },
    );
  });
});
