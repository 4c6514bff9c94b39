import { scheduleActivity, workflowInfo } from '@temporalio/workflow';
import type { AddressStatus, DiscoveryScope, DiscoveryTarget } from '../activities/contract';
import type { DiscoveryStatus } from '../lib/store/vocabulary';
import { inPool } from './pool';

export interface DiscoveryInput {
  scope: DiscoveryScope;
  /** Operator name, or the schedule's. */
  requestedBy: string;
  /** Probes in flight at once; default 16, 1–64. */
  concurrency?: number;
  /** Deadline of each port's probe, ms; default 5000, 100–60000. A hung address costs this, not the sweep. */
  probeTimeoutMs?: number;
}

export interface DiscoverySummary {
  scope: DiscoveryScope;
  probed: number;
  /** How many addresses got each status. */
  counts: Record<DiscoveryStatus, number>;
  addresses: AddressStatus[];
  /** Addresses whose probe activity failed outright (e.g. the site database was down): not stored. */
  failed: { host: string; error: string }[];
}

/** Every status at zero: the type makes it list all six (lib/store's vocabulary is code, not for workflows). */
const NO_DEVICES: Record<DiscoveryStatus, number> = {
  unknown: 0,
  not_supported: 0,
  detected: 0,
  not_provisioned: 0,
  provisioned: 0,
  externally_provisioned: 0,
};

function bounded(value: number | undefined, fallback: number, min: number, max: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new TypeError(`${what} must be an integer from ${min} to ${max}`);
  return v;
}

/**
 * OPS1 "discover management controllers": every address of a collection (its devices' last contacts)
 * or of an address range probed on 16992/16993, at most `concurrency` at a time, each under its own
 * deadline, then — for devices this site provisioned — the provisioning state read with the stored
 * credentials; each address's status (Configuration Manager's six) stored with the time seen.
 * One activity per address, named `OPS1 probe <host>` in the run history; a probe that hangs ends
 * at its deadline as Unknown and holds up only its own slot. Schedulable as a Temporal Schedule
 * (runtime/console-schedules.ts).
 */
export async function discoverManagementControllers(input: DiscoveryInput): Promise<DiscoverySummary> {
  const concurrency = bounded(input.concurrency, 16, 1, 64, 'concurrency');
  const timeoutMs = bounded(input.probeTimeoutMs, 5_000, 100, 60_000, 'probeTimeoutMs');
  const { targets } = (await scheduleActivity('listDiscoveryTargets', [{ scope: input.scope }], {
    summary: 'OPS1 list the addresses to probe',
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
  })) as { targets: DiscoveryTarget[] };

  const sweepId = workflowInfo().workflowId;
  const found: (AddressStatus | undefined)[] = new Array(targets.length);
  const failed: DiscoverySummary['failed'] = [];
  await inPool([...targets.keys()], concurrency, async (i) => {
    const target = targets[i]!;
    try {
      found[i] = (await scheduleActivity('discoverAddress', [{ target, timeoutMs, sweepId }], {
        summary: `OPS1 probe ${target.host}`,
        // Two ports at once under the probe's deadline, then at most a login and one read.
        startToCloseTimeout: timeoutMs + 120_000,
        retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
      })) as AddressStatus;
    } catch (err) {
      failed.push({ host: target.host, error: err instanceof Error ? err.message : String(err) });
    }
  });
  const addresses = found.filter((a): a is AddressStatus => a !== undefined);
  const counts = { ...NO_DEVICES };
  for (const a of addresses) counts[a.status] += 1;
  return {
    scope: input.scope,
    probed: targets.length,
    counts,
    addresses,
    failed,
  };
}
