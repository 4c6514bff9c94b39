import { X509Certificate } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { escapeFilter } from 'ldapts';
import type { Fleet } from '../../../emulator/fleet/fleet';
import type { Nvram } from '../../../emulator/device/nvram';
import { openAmtSession } from '../../../lib/amt';
import type { Credential } from '../../../lib/store/credentials';
import { operatorCommands } from '../../../runtime/lifecycle-client';
import type { Progress } from '../../../workflows/messages';
import { deviceWorkflowId } from '../../../workflows/names';
import type { TestDeps } from '../../support/activity-env';
import { adminClient, TEST_DC } from '../../support/directory';
import type { E2eDevice } from '../../support/lifecycle-env';

/**
 * The promise amtflow makes over its peers (issue 16), checked against the four systems that hold a
 * device's state — the firmware (emulator NVRAM and a real Digest login), the Samba DC, the CA's
 * records and the site database — and against Temporal, which holds every run:
 *
 * - settled: the device's last run completed with the firmware and the database agreeing, or it
 *   waits for an operator with a stated reason;
 * - password: a provisioned device accepts the admin password the database holds as current (a
 *   pending one only while its run is still open): zero lost credentials;
 * - certificates: every certificate the CA issued for the device is installed in the firmware, or
 *   revoked; every certificate the firmware serves for its name is recorded: zero orphans;
 * - directory: a provisioned device has Kerberos on in its firmware once a run reported stage two
 *   done (every profile asks for it), exactly one object in the AMT container, with both SPNs and
 *   the Kerberos key version the firmware holds, in exactly the security groups the database
 *   records (I5), and the database names that object; an unprovisioned device has none: zero
 *   duplicates, zero drift;
 * - audit: every closed run of the device recorded its result, every open run waits for an operator.
 *
 * A run still open and waiting may hold a step half done (a certificate issued, not yet installed):
 * such a cell passes with a note saying so, since the run carries it on when the operator decides.
 */
export const INVARIANTS = ['settled', 'password', 'certificates', 'directory', 'audit'] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Cell {
  ok: boolean;
  note: string;
}

export interface DeviceRow {
  device: E2eDevice;
  firmware: string;
  cells: Record<Invariant, Cell>;
}

export interface InvariantSubject {
  deps: TestDeps;
  fleet: Fleet;
  client: Client;
  taskQueue: string;
  devices: E2eDevice[];
}

export interface InvariantReport {
  rows: DeviceRow[];
  /** `host: invariant: why` for every failing cell; empty when every invariant holds. */
  failures: string[];
  /** The table, one line per device and a total per invariant, for the test's output. */
  table: string;
}

const ok = (note = 'ok'): Cell => ({ ok: true, note });
const fail = (note: string): Cell => ({ ok: false, note });

interface RunView {
  runId: string;
  operation: string;
  status: string;
  startTime: Date;
}

interface DeviceContext {
  device: E2eDevice;
  nvram: Nvram;
  runs: RunView[];
  /** The last run's progress, when it is still open. */
  open?: Progress;
}

/** A run waiting for an operator, with the reason in words; undefined when it is not waiting. */
function waitingReason(progress: Progress | undefined): string | undefined {
  if (progress?.awaiting) {
    const { step, error } = progress.awaiting;
    return error.message ? `waiting at ${step}: ${error.code}: ${error.message}` : undefined;
  }
  if (progress?.waiting) return progress.waiting.message || undefined;
  return undefined;
}

async function runsOf(subject: InvariantSubject, device: E2eDevice): Promise<RunView[]> {
  const runs: RunView[] = [];
  const workflowId = deviceWorkflowId(device.uuid);
  for await (const execution of subject.client.workflow.list({
    query: `TaskQueue = '${subject.taskQueue}' AND WorkflowId = '${workflowId}'`,
  })) {
    runs.push({
      runId: execution.runId,
      operation: execution.type,
      status: execution.status.name,
      startTime: execution.startTime,
    });
  }
  return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

const FIRMWARE_STATE = { 0: 'pre', 1: 'in', 2: 'post' } as const;

async function settled(subject: InvariantSubject, context: DeviceContext): Promise<Cell> {
  const last = context.runs.at(-1);
  if (!last) return fail('no run');
  if (last.status === 'RUNNING') {
    const reason = waitingReason(context.open);
    return reason
      ? ok(reason)
      : fail(`run ${last.operation} open and not waiting (${context.open?.state ?? 'no answer'})`);
  }
  if (last.status !== 'COMPLETED') return fail(`last run ${last.operation} ${last.status.toLowerCase()}`);
  const record = await subject.deps.store.devices.require(context.device.uuid);
  const firmware = context.nvram.provisioning.state;
  const agree =
    (record.provisioningState === 'provisioned' && firmware === 2) ||
    (record.provisioningState === 'unprovisioned' && firmware === 0);
  return agree
    ? ok(record.provisioningState)
    : fail(`database says ${record.provisioningState}, firmware ${FIRMWARE_STATE[firmware]}`);
}

/** One Digest login with a stored version: true when the firmware accepts it. */
async function accepts(subject: InvariantSubject, device: E2eDevice, credential: Credential): Promise<boolean> {
  const emulated = subject.fleet.device(device.uuid);
  const password = await subject.deps.store.credentials.reveal({
    device: device.uuid,
    kind: 'amt_admin',
    version: credential.version,
  });
  const session = openAmtSession({
    host: emulated.address,
    port: emulated.httpPort,
    credentials: [{ username: credential.username ?? 'admin', password, ref: 'stored' }],
    timeouts: subject.deps.amtTimeouts,
  });
  return session.login().then(
    () => true,
    () => false,
  );
}

async function password(subject: InvariantSubject, context: DeviceContext): Promise<Cell> {
  if (context.nvram.provisioning.state !== 2)
    return ok(`n/a (firmware ${FIRMWARE_STATE[context.nvram.provisioning.state]})`);
  const versions = await subject.deps.store.credentials.list(context.device.uuid, 'amt_admin');
  const current = versions.find((c) => c.status === 'current');
  if (current && (await accepts(subject, context.device, current))) return ok(`current v${current.version}`);
  // A crash between the device call and `promote` leaves the accepted password pending; only the
  // open run may still promote it.
  if (context.open) {
    for (const pending of versions.filter((c) => c.status === 'pending')) {
      if (await accepts(subject, context.device, pending)) return ok(`pending v${pending.version} (run open)`);
    }
  }
  return fail(current ? `current v${current.version} refused by the firmware` : 'no current admin password');
}

async function certificates(subject: InvariantSubject, context: DeviceContext): Promise<Cell> {
  const { device, nvram } = context;
  const installed = new Map(
    nvram.certs.map((c) => {
      const x509 = new X509Certificate(Buffer.from(c.der, 'base64'));
      return [x509.serialNumber.toLowerCase(), x509] as const;
    }),
  );
  const records = await subject.deps.database.db
    .selectFrom('certificates')
    .select(['serial', 'status', 'template'])
    .where('device_uuid', '=', device.uuid)
    .execute();
  const problems: string[] = [];
  let inFlight = 0;
  for (const record of records.filter((r) => r.status === 'issued')) {
    if (installed.has(record.serial.toLowerCase())) continue;
    if (context.open) inFlight += 1;
    else problems.push(`${record.template} ${record.serial} issued, neither installed nor revoked`);
  }
  const recorded = new Map(records.map((r) => [r.serial.toLowerCase(), r.status]));
  for (const [serial, x509] of installed) {
    // The device's own certificates: the subject's CN is its FQDN exactly (not a prefix of another's).
    if (!x509.subject.toLowerCase().split('\n').includes(`cn=${device.fqdn.toLowerCase()}`)) continue;
    const status = recorded.get(serial);
    if (status !== 'issued') problems.push(`${serial} installed but ${status ?? 'not recorded'}`);
  }
  if (problems.length > 0) return fail(problems.join('; '));
  const issued = records.filter((r) => r.status === 'issued').length;
  const revoked = records.length - issued;
  return ok(`${issued} installed, ${revoked} revoked${inFlight ? `, ${inFlight} in flight (run open)` : ''}`);
}

async function directory(subject: InvariantSubject, context: DeviceContext): Promise<Cell> {
  const { device, nvram } = context;
  const host = device.hostName;
  const spns = [16992, 16993].map((port) => `HTTP/${device.fqdn}:${port}`);
  const client = await adminClient();
  let objects: Array<{ dn: string; spns: string[]; kvno: number }>;
  /** DNs (lower case) of the groups the single object is a member of. */
  let memberOf: string[] = [];
  try {
    const { searchEntries } = await client.search(`${TEST_DC.amtContainer},${TEST_DC.domainDn}`, {
      scope: 'sub',
      filter: escapeFilter`(|(cn=${host})(description=*${device.fqdn}*)(servicePrincipalName=${spns[0]!})(servicePrincipalName=${spns[1]!}))`,
      attributes: ['servicePrincipalName', 'msDS-KeyVersionNumber'],
    });
    objects = searchEntries.map((e) => ({
      dn: e.dn,
      spns: ([] as unknown[]).concat(e.servicePrincipalName ?? []).map((s) => String(s).toLowerCase()),
      kvno: Number(e['msDS-KeyVersionNumber'] ?? 0),
    }));
    if (objects.length === 1) {
      const groups = await client.search(TEST_DC.domainDn, {
        scope: 'sub',
        filter: escapeFilter`(&(objectClass=group)(member=${objects[0]!.dn}))`,
        attributes: ['1.1'],
      });
      memberOf = groups.searchEntries.map((g) => g.dn.toLowerCase()).sort();
    }
  } finally {
    await client.unbind();
  }
  const stored = await subject.deps.database.db
    .selectFrom('directory_objects')
    .select(['dn', 'status', 'security_groups'])
    .where('device', '=', device.uuid)
    .executeTakeFirst();

  // Every settings profile asks for Kerberos (OOB9.3a is a required step): once a run reported stage
  // two done, the firmware must have it on — a lost write must not leave a "provisioned" device without.
  const last = await subject.deps.database.db
    .selectFrom('provisioning_results')
    .select(['operation', 'outcome', 'stage_reached'])
    .where('workflow_id', '=', deviceWorkflowId(device.uuid))
    .orderBy('recorded_at', 'desc')
    .executeTakeFirst();
  const kerberosAsked = last?.outcome === 'succeeded' && last.stage_reached === 'stage-two';
  if (kerberosAsked && nvram.provisioning.state === 2 && !nvram.kerberos.krbEnabled) {
    const note = `Kerberos off in the firmware, though the profile asks for it and ${last.operation} reported stage two done`;
    return context.open ? ok(`${note} (run open)`) : fail(note);
  }
  if (nvram.provisioning.state !== 2 || !nvram.kerberos.krbEnabled) {
    const firmware = nvram.provisioning.state !== 2 ? 'firmware not provisioned' : 'Kerberos off in the firmware';
    if (objects.length === 0) return ok(`none (${firmware})`);
    if (context.open) return ok(`${objects.length} object(s), ${firmware}, run open`);
    return fail(`${objects.length} object(s) with ${firmware}: ${objects.map((o) => o.dn).join(', ')}`);
  }
  if (objects.length !== 1) {
    if (objects.length === 0 && context.open) return ok('not yet published (run open)');
    return fail(`${objects.length} objects: ${objects.map((o) => o.dn).join(', ')}`);
  }
  const [object] = objects as [(typeof objects)[number]];
  const problems: string[] = [];
  const wanted = spns.map((s) => s.toLowerCase());
  if (wanted.some((s) => !object.spns.includes(s))) problems.push(`SPNs ${object.spns.join(', ') || 'none'}`);
  if (object.kvno !== nvram.kerberos.keyVersion)
    problems.push(`key version ${object.kvno} in the directory, ${nvram.kerberos.keyVersion} in the firmware`);
  if (stored?.status !== 'published' || stored.dn.toLowerCase() !== object.dn.toLowerCase())
    problems.push(`database records ${stored ? `${stored.status} ${stored.dn}` : 'nothing'}`);
  // I5: the account is in exactly the security groups the database records (none out of band).
  const recorded = (stored?.security_groups ?? []).map((dn) => dn.toLowerCase()).sort();
  if (memberOf.join('|') !== recorded.join('|'))
    problems.push(`member of ${memberOf.join(', ') || 'no group'}, database records ${recorded.join(', ') || 'none'}`);
  if (problems.length > 0 && context.open) return ok(`${problems.join('; ')} (run open)`);
  return problems.length > 0
    ? fail(problems.join('; '))
    : ok(`1 object, kvno ${object.kvno}, ${memberOf.length} group(s)`);
}

async function audit(subject: InvariantSubject, context: DeviceContext): Promise<Cell> {
  const workflowId = deviceWorkflowId(context.device.uuid);
  const results = await subject.deps.database.db
    .selectFrom('provisioning_results')
    .select(['idempotency_key', 'outcome'])
    .where('workflow_id', '=', workflowId)
    .execute();
  const problems: string[] = [];
  let closed = 0;
  for (const run of context.runs) {
    if (run.status === 'RUNNING') {
      if (run !== context.runs.at(-1)) problems.push(`${run.operation} ${run.runId} open beside a later run`);
      else if (!waitingReason(context.open)) problems.push(`${run.operation} open without a reason`);
      continue;
    }
    closed += 1;
    const recorded = results.filter((r) => r.idempotency_key.startsWith(`${workflowId}/${run.runId}/`));
    if (recorded.length !== 1)
      problems.push(`${run.operation} ${run.status.toLowerCase()} with ${recorded.length} results`);
  }
  if (context.runs.length === 0) problems.push('no run');
  return problems.length > 0 ? fail(problems.join('; ')) : ok(`${closed} closed run(s) recorded`);
}

/** Checks every invariant for every device of the subject and lays the answers out as a table. */
export async function checkInvariants(subject: InvariantSubject): Promise<InvariantReport> {
  const commands = operatorCommands(subject.client, { taskQueue: subject.taskQueue });
  const rows: DeviceRow[] = [];
  for (const device of subject.devices) {
    const nvram = subject.fleet.device(device.uuid).nvram();
    const runs = await runsOf(subject, device);
    const open = runs.at(-1)?.status === 'RUNNING' ? await commands.progress(device.uuid) : undefined;
    const context: DeviceContext = { device, nvram, runs, ...(open ? { open } : {}) };
    rows.push({
      device,
      firmware: `${nvram.amtVersion} ${FIRMWARE_STATE[nvram.provisioning.state]}`,
      cells: {
        settled: await settled(subject, context),
        password: await password(subject, context),
        certificates: await certificates(subject, context),
        directory: await directory(subject, context),
        audit: await audit(subject, context),
      },
    });
  }
  const failures = rows.flatMap((row) =>
    INVARIANTS.filter((name) => !row.cells[name].ok).map(
      (name) => `${row.device.hostName}: ${name}: ${row.cells[name].note}`,
    ),
  );
  return { rows, failures, table: formatTable(rows) };
}

function formatTable(rows: DeviceRow[]): string {
  const header = ['device', 'firmware', ...INVARIANTS];
  const lines = rows.map((row) => [
    row.device.hostName,
    row.firmware,
    ...INVARIANTS.map((name) => `${row.cells[name].ok ? 'ok' : 'FAIL'} ${row.cells[name].note}`),
  ]);
  const totals = [
    'holds for',
    `${rows.length} devices`,
    ...INVARIANTS.map((name) => `${rows.filter((r) => r.cells[name].ok).length}/${rows.length}`),
  ];
  const all = [header, ...lines, totals];
  const widths = header.map((_, i) => Math.min(60, Math.max(...all.map((line) => line[i]!.length))));
  const render = (line: string[]) =>
    line
      .map((cell, i) => (cell.length > widths[i]! ? `${cell.slice(0, widths[i]! - 1)}…` : cell.padEnd(widths[i]!)))
      .join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [render(header), rule, ...lines.map(render), rule, render(totals)].join('\n');
}
