/**
 * The step catalogue: every step of every lifecycle flow, named by its requirement id in
 * ../shared/spec/provisioning.md, with the activity that performs it, its retry class and its
 * timeouts; and, at the end, the step list of each flow and mode, built from it. The Web UI's
 * activity summaries, the `progress` query and the logs all read from here.
 */
import type { LifecycleActivities, ProvisioningMode } from '../activities/contract';
import { renameCompletedSignal, wiredIeee8021xDecisionSignal, type WaitingForSignal } from './messages';
import { PATCHES } from './names';
import type { StepDefinition } from './step-runner';

type Step = StepDefinition<keyof LifecycleActivities & string>;

// Per-attempt limits: a firmware call answers within seconds (RPS uses 12 s); TLS and Digest
// set-up take longer on old firmware; directory and database calls are local. A device call that
// must not be re-sent blindly (commit, password set, unprovision) reads the firmware first on every
// attempt, which takes longer, and gets fewer attempts before an operator looks.
const DEVICE = { timeout: '1 minute', attempts: 5 } as const;
const READ_FIRST = { timeout: '2 minutes', attempts: 3 } as const;
const SYSTEM = { timeout: '30 seconds', attempts: 5 } as const;

const step = <S extends Step>(s: S): S => s;

export const VALIDATE = {
  imported: step({
    id: 'OOB2',
    title: 'check the device was imported',
    stage: 'validate',
    activity: 'loadImportedDevice',
    retry: 'validation',
    ...SYSTEM,
  }),
  registered: step({
    id: 'IB9',
    title: 'read the name the computer registered',
    stage: 'validate',
    activity: 'loadImportedDevice',
    retry: 'validation',
    ...SYSTEM,
  }),
  version: step({
    id: 'P2',
    title: 'check the AMT version is 3.2.1 or later',
    stage: 'validate',
    activity: 'probeAmtVersion',
    retry: 'validation',
    ...DEVICE,
  }),
  directory: step({
    id: 'P4',
    title: 'check the directory prerequisites',
    stage: 'validate',
    activity: 'checkDirectoryPrerequisites',
    retry: 'validation',
    ...SYSTEM,
  }),
  rootHash: step({
    id: 'OOB3',
    title: 'match a trusted root hash',
    stage: 'validate',
    activity: 'matchTrustedRoot',
    retry: 'validation',
    ...SYSTEM,
  }),
} as const;

export const INFRASTRUCTURE = {
  revoke: step({
    id: 'I1',
    title: 'revoke a certificate already issued',
    stage: 'infrastructure',
    activity: 'revokeDeviceCertificates',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  publish: step({
    id: 'I3',
    title: 'publish the AMT account to the directory',
    stage: 'infrastructure',
    activity: 'publishAmtAccount',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  spns: step({
    id: 'I4',
    title: 'register the service principal names',
    stage: 'infrastructure',
    activity: 'registerSpns',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  /** In band only; a profile naming no security group (the default) leaves I5 with nothing to do. */
  groups: step({
    id: 'I5',
    title: 'add the AMT account to the 802.1X and wireless security groups',
    stage: 'infrastructure',
    activity: 'joinSecurityGroups',
    retry: 'idempotent',
    patch: PATCHES.securityGroups,
    ...SYSTEM,
  }),
} as const;

export const CONNECT = {
  tls: step({
    id: 'OOB4',
    title: 'open TLS with the provisioning certificate',
    stage: 'connect',
    activity: 'connectForProvisioning',
    retry: 'idempotent',
    ...DEVICE,
  }),
  login: step({
    id: 'OOB6',
    title: 'log in with Digest, trying each credential',
    stage: 'connect',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  otp: step({
    id: 'IB5',
    title: 'verify the one-time password hash',
    stage: 'connect',
    activity: 'verifyOneTimePassword',
    retry: 'validation',
    ...DEVICE,
    checkpoint: true,
  }),
  certificate: step({
    id: 'I2',
    title: 'request the web-server certificate',
    stage: 'connect',
    activity: 'requestWebServerCertificate',
    retry: 'idempotent',
    ...DEVICE,
  }),
} as const;

/** OOB8: first-stage provisioning (I9 marks it in the logs). */
export const STAGE_ONE = {
  clock: step({
    id: 'OOB8.1',
    title: 'set the AMT clock',
    stage: 'stage-one',
    activity: 'setAmtClock',
    retry: 'idempotent',
    ...DEVICE,
  }),
  hostName: step({
    id: 'OOB8.2',
    title: 'set host name and domain',
    stage: 'stage-one',
    activity: 'setHostNameAndDomain',
    retry: 'idempotent',
    ...DEVICE,
  }),
  tls: step({
    id: 'OOB8.3',
    title: 'store the certificate and enable TLS',
    stage: 'stage-one',
    activity: 'installCertificateAndEnableTls',
    retry: 'idempotent',
    ...DEVICE,
  }),
  adminPassword: step({
    id: 'OOB8.4',
    title: 'set a random admin password',
    stage: 'stage-one',
    activity: 'setAdminPassword',
    retry: 'idempotent',
    ...READ_FIRST,
  }),
  mebx: step({
    id: 'OOB8.5',
    title: 'set the MEBx password',
    stage: 'stage-one',
    activity: 'setMebxPassword',
    retry: 'idempotent',
    ...READ_FIRST,
    skippable: true,
  }),
  commit: step({
    id: 'OOB8.6',
    title: 'commit and enter post-provisioning',
    stage: 'stage-one',
    activity: 'commitSetup',
    retry: 'idempotent',
    ...READ_FIRST,
    checkpoint: true,
  }),
} as const;

/** OOB9: second-stage provisioning, over TLS verified against amtflow's CA. */
export const STAGE_TWO = {
  login: step({
    id: 'OOB9.0',
    title: 'log in over the device TLS certificate',
    stage: 'stage-two',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  sids: step({
    id: 'I8',
    title: 'look up the SIDs of the AMT user accounts',
    stage: 'stage-two',
    activity: 'resolveAccountSids',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  acl: step({
    id: 'OOB9.1',
    title: 'clear and set the access control lists',
    stage: 'stage-two',
    activity: 'configureAccessControl',
    retry: 'idempotent',
    ...DEVICE,
  }),
  features: step({
    id: 'OOB9.2',
    title: 'set ping, web UI, SOL and IDER',
    stage: 'stage-two',
    activity: 'configureFeatures',
    retry: 'idempotent',
    ...DEVICE,
    skippable: true,
  }),
  kerberos: step({
    id: 'OOB9.3a',
    title: 'enable Kerberos',
    stage: 'stage-two',
    activity: 'enableKerberos',
    retry: 'idempotent',
    ...DEVICE,
  }),
  power: step({
    id: 'OOB9.3b',
    title: 'set the power policy',
    stage: 'stage-two',
    activity: 'setPowerPolicy',
    retry: 'idempotent',
    ...DEVICE,
    skippable: true,
  }),
  network: step({
    id: 'OOB9.4',
    title: 'store wireless profiles and 802.1X settings',
    stage: 'stage-two',
    activity: 'configureNetworkAuthentication',
    retry: 'idempotent',
    ...DEVICE,
    skippable: true,
  }),
} as const;

/** OOB10 (and IB11): every flow ends by recording its result. */
export const REPORT = {
  result: step({
    id: 'OOB10',
    title: 'record the result in the site database',
    stage: 'report',
    activity: 'recordResult',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

export const UPDATE = {
  login: step({
    id: 'UPD1',
    title: 'log in to the provisioned device',
    stage: 'connect',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  /**
   * Kerberos (OOB9.3a) needs AMT's clock within 5 minutes of the KDC's, and a clock set once at
   * provisioning drifts: every update sets it again from the server clock, as I7 does at OOB8.1.
   */
  clock: step({
    id: 'I7',
    title: 're-sync the AMT clock (Kerberos needs it within 5 minutes)',
    stage: 'connect',
    activity: 'setAmtClock',
    retry: 'idempotent',
    patch: PATCHES.updateClock,
    ...DEVICE,
  }),
  publish: step({
    id: 'UPD2',
    title: 'refresh the directory object',
    stage: 'infrastructure',
    activity: 'publishAmtAccount',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  spns: step({
    id: 'UPD2.1',
    title: 're-register the service principal names',
    stage: 'infrastructure',
    activity: 'registerSpns',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  /**
   * Before OOB9.4 re-applies 802.1X wired settings while the host's OS is not running: the warning,
   * and the operator's answer — apply or skip them — awaited as a signal.
   */
  wired: step({
    id: 'UPD4',
    title: 'warn before re-applying 802.1X wired settings while the OS is not running',
    stage: 'stage-two',
    activity: 'checkWiredIeee8021xUpdate',
    retry: 'idempotent',
    patch: PATCHES.updateWiredWarning,
    ...DEVICE,
  }),
  revoke: step({
    id: 'UPD3',
    title: 'revoke the 802.1X client certificates',
    stage: 'infrastructure',
    activity: 'revokeDeviceCertificates',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

export const REMOVE = {
  login: step({
    id: 'DEP1.0',
    title: 'log in to the provisioned device',
    stage: 'connect',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  unprovision: step({
    id: 'DEP1',
    title: 'remove the provisioning data from the firmware',
    stage: 'remove',
    activity: 'unprovisionDevice',
    retry: 'idempotent',
    ...READ_FIRST,
    checkpoint: true,
  }),
  revoke: step({
    id: 'DEP2.1',
    title: 'revoke every AMT certificate',
    stage: 'remove',
    activity: 'revokeDeviceCertificates',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  /** I5 undone before the object goes, so no group keeps a dangling member in any replica's view. */
  groups: step({
    id: 'I5.leave',
    title: 'take the AMT account out of the security groups',
    stage: 'remove',
    activity: 'leaveSecurityGroups',
    retry: 'idempotent',
    patch: PATCHES.securityGroups,
    ...SYSTEM,
  }),
  account: step({
    id: 'DEP2.2',
    title: 'delete the SPNs and the directory object',
    stage: 'remove',
    activity: 'deleteAmtAccount',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

export const RENAME = {
  target: step({
    id: 'REN1',
    title: 'check the new name and domain (P4) before anything is removed',
    stage: 'validate',
    activity: 'checkDirectoryPrerequisites',
    retry: 'validation',
    patch: PATCHES.renameCheck,
    ...SYSTEM,
  }),
  disable: step({
    id: 'REN3',
    title: 'disable automatic provisioning',
    stage: 'rename',
    activity: 'setAutomaticProvisioning',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  wait: step({
    id: 'REN2',
    title: 'check the rename or move is complete',
    stage: 'rename',
    activity: 'checkRenameComplete',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  enable: step({
    id: 'REN3.1',
    title: 're-enable automatic provisioning',
    stage: 'rename',
    activity: 'setAutomaticProvisioning',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

/**
 * Certificate renewal of a provisioned device (issue 11 §4): provisioning's own requirements, in the
 * order a renewal needs them — the new certificate requested (I2), installed and served (I6, with
 * OOB8.3's TLS credential context), and only then the old one revoked (I1).
 */
export const RENEWAL = {
  login: step({
    id: 'OOB6',
    title: 'log in to the provisioned device',
    stage: 'connect',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  request: step({
    id: 'I2',
    title: 'request the renewed web-server certificate',
    stage: 'renew',
    activity: 'requestWebServerCertificate',
    retry: 'idempotent',
    ...DEVICE,
  }),
  install: step({
    id: 'I6',
    title: 'install the certificate and switch the AMT TLS server to it',
    stage: 'renew',
    activity: 'switchWebServerCertificate',
    retry: 'idempotent',
    ...READ_FIRST,
  }),
  revoke: step({
    id: 'I1',
    title: 'revoke the superseded web-server certificate',
    stage: 'renew',
    activity: 'revokeSupersededCertificates',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

/** AMT remote admin password rotation (issue 11 §4): I8's random strong password, set write-ahead. */
export const ROTATION = {
  login: step({
    id: 'OOB6',
    title: 'log in to the provisioned device',
    stage: 'connect',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  adminPassword: step({
    id: 'I8',
    title: 'reset the remote admin password to a random strong password',
    stage: 'rotate',
    activity: 'setAdminPassword',
    retry: 'idempotent',
    ...READ_FIRST,
  }),
} as const;

/**
 * Forgetting a device that is gone (issue 11 §2): DEP2's clean-up without DEP1 — the firmware is out
 * of reach, so nothing talks to it — then the site database's records and secrets removed.
 */
export const FORGET = {
  // DEP2's own steps (their ids and titles as in a removal): a run's history names them alike.
  revoke: REMOVE.revoke,
  account: REMOVE.account,
  records: step({
    id: 'DEP2.forget',
    title: 'remove the device and its secrets from amtflow',
    stage: 'remove',
    activity: 'forgetDeviceRecords',
    retry: 'idempotent',
    ...SYSTEM,
    checkpoint: true,
  }),
} as const;

/** Undo actions run on abort; they are steps too, so they show in the UI with their spec ids. */
export const UNDO = {
  revoke: step({
    id: 'I2.undo',
    title: 'revoke the certificate issued by this run',
    stage: 'compensate',
    activity: 'revokeDeviceCertificates',
    retry: 'idempotent',
    ...SYSTEM,
  }),
  /**
   * Aborted at OOB8.6 (issue 9): whether the firmware committed although the step failed (its
   * answer lost) decides between keeping the work and undoing it.
   */
  commitRead: step({
    id: 'OOB8.6.read',
    title: 'read whether the firmware committed before undoing',
    stage: 'compensate',
    activity: 'loginWithDigest',
    retry: 'idempotent',
    ...DEVICE,
  }),
  /** After OOB8.6 nothing is undone: the record says what the firmware holds. */
  keep: step({
    id: 'OOB8.6.keep',
    title: 'record the device as the committed first stage left it',
    stage: 'compensate',
    activity: 'recordResult',
    retry: 'idempotent',
    ...SYSTEM,
  }),
} as const;

/** P7: every operator decision lands in the append-only audit log, as a step of the run it decides. */
export const AUDIT = {
  decision: step({
    id: 'P7',
    title: "record the operator's decision in the audit log",
    stage: 'operator',
    activity: 'recordAudit',
    retry: 'idempotent',
    ...SYSTEM,
    checkpoint: true,
  }),
} as const;

/**
 * The steps of one provisioning run, in order: validation (OOB2, or IB9 in band), connection
 * (IB5 and I5 in band only) — the device reached and identified before anything changes (issue 9) — this
 * run's certificate, stage one, the infrastructure once the firmware committed, stage two, result.
 * Undo steps are not part of it: they join a run's progress only when compensation runs them.
 */
export function provisionSteps(mode: ProvisioningMode): Step[] {
  const inBand = mode === 'in-band';
  return [
    inBand ? VALIDATE.registered : VALIDATE.imported,
    VALIDATE.version,
    VALIDATE.directory,
    VALIDATE.rootHash,
    CONNECT.tls,
    CONNECT.login,
    ...(inBand ? [CONNECT.otp] : []),
    CONNECT.certificate,
    ...Object.values(STAGE_ONE),
    ...Object.values(INFRASTRUCTURE).filter((s) => inBand || s !== INFRASTRUCTURE.groups),
    ...Object.values(STAGE_TWO),
    REPORT.result,
  ];
}

/**
 * UPD1–UPD4: UPD1's login (the device reached and identified) before anything changes (issue 9);
 * the AMT clock set again (I7) before Kerberos is; then the directory refreshed, stage two
 * re-applied — with UPD4's warning, and the operator's answer, before 802.1X wired settings go to a
 * device whose OS is not running — and the 802.1X client certificates issued before this run
 * revoked once the new ones are installed.
 */
export const UPDATE_STEPS: readonly Step[] = [
  VALIDATE.imported,
  VALIDATE.version,
  UPDATE.login,
  UPDATE.clock,
  UPDATE.publish,
  UPDATE.spns,
  ...Object.values(STAGE_TWO).filter((s) => s !== STAGE_TWO.login && s !== STAGE_TWO.network),
  UPDATE.wired,
  STAGE_TWO.network,
  UPDATE.revoke,
  REPORT.result,
];

/** A flow over a provisioned device: OOB2's record and P2's version checked, its own steps, the result. */
const overDevice = (steps: Record<string, Step>): readonly Step[] => [
  VALIDATE.imported,
  VALIDATE.version,
  ...Object.values(steps),
  REPORT.result,
];

/** DEP1–DEP2, then the result. */
export const REMOVAL_STEPS = overDevice(REMOVE);

/**
 * REN1–REN3: the new name checked, automatic provisioning off, full removal, wait for the rename,
 * automatic provisioning on.
 */
export const RENAME_STEPS: readonly Step[] = [
  RENAME.target,
  RENAME.disable,
  ...REMOVAL_STEPS,
  RENAME.wait,
  RENAME.enable,
];

/** Renewal: validation, login, the new certificate requested and served, the old one revoked, the result. */
export const RENEWAL_STEPS = overDevice(RENEWAL);

/** Rotation: validation, login, the new admin password (write-ahead, verified), the result. */
export const ROTATION_STEPS = overDevice(ROTATION);

/** Forget: validation (the device is known), its certificates and directory object, its records. */
export const FORGET_STEPS: readonly Step[] = [VALIDATE.imported, ...Object.values(FORGET)];

/**
 * The steps a run of `workflowType` started with `input` lists, as its `progress` query does:
 * what `progress` answers from a run's history needs the same list. Undefined for a workflow type
 * that is not a lifecycle flow.
 */
export function stepsOfRun(workflowType: string, input: { mode?: string } | undefined): readonly Step[] | undefined {
  switch (workflowType) {
    case 'provisionDevice':
      return provisionSteps(input?.mode === 'in-band' ? 'in-band' : 'out-of-band');
    case 'updateManagementController':
      return UPDATE_STEPS;
    case 'removeProvisioning':
      return REMOVAL_STEPS;
    case 'renameOrMoveDevice':
      return RENAME_STEPS;
    case 'renewDeviceCertificate':
      return RENEWAL_STEPS;
    case 'rotateAdminPassword':
      return ROTATION_STEPS;
    case 'forgetDevice':
      return FORGET_STEPS;
    default:
      return undefined;
  }
}

/**
 * A run's steps by id — its own list first, then the undo and audit steps that join it when they run:
 * how history events name their step. Per run, because one spec id names a step in several flows
 * with different settings (I8 is stage two's SID lookup and rotation's password, I1 and I2 are
 * provisioning's and renewal's, OOB6 has three logins); a site-wide index would read a run's events
 * against another flow's retry limit and stage.
 */
export function stepIndex(list: readonly Step[]): ReadonlyMap<string, Step> {
  return new Map([...Object.values(UNDO), ...Object.values(AUDIT), ...list].map((s): [string, Step] => [s.id, s]));
}

/** The operation name a lifecycle workflow type records (`progress.operation`). */
export const OPERATION_OF_WORKFLOW: Readonly<Record<string, string>> = {
  provisionDevice: 'provision',
  updateManagementController: 'update',
  removeProvisioning: 'remove',
  renameOrMoveDevice: 'rename_or_move',
  renewDeviceCertificate: 'renew_certificate',
  rotateAdminPassword: 'rotate_password',
  forgetDevice: 'forget',
};

/** REN2: how often the directory is asked whether the rename or move has replicated. */
export const RENAME_POLL = '5 minutes';

/** REN2's wait for the operator: the signal to send and what to run, as progress shows it. */
export function renameWait(input: {
  deviceUuid: string;
  hostName?: string;
  domain?: string;
}): Omit<WaitingForSignal, 'step'> {
  const { deviceUuid, hostName = '<host name>', domain = '<domain>' } = input;
  return {
    signal: renameCompletedSignal.name,
    message:
      `waiting for rename-complete: once the computer is ${hostName}.${domain}, run ` +
      `\`amtflow rename-complete ${deviceUuid} --host-name ${hostName} --domain ${domain}\` (or send the signal ` +
      `${renameCompletedSignal.name} with {"hostName","domain","operator"}); the directory is checked again every ${RENAME_POLL}`,
  };
}

/** UPD4's wait for the operator: the warning, then the signal to send and what to run. */
export function wiredIeee8021xWait(deviceUuid: string, warning: string): Omit<WaitingForSignal, 'step'> {
  return {
    signal: wiredIeee8021xDecisionSignal.name,
    message:
      `waiting for the operator: ${warning}. Run \`amtflow wired-8021x ${deviceUuid} --apply\` or ` +
      `\`amtflow wired-8021x ${deviceUuid} --skip\` (or send the signal ${wiredIeee8021xDecisionSignal.name} ` +
      'with {"apply","operator","reason"})',
  };
}
