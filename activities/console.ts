import { ApplicationFailure } from '@temporalio/common';
import { AmtPowerError } from '../lib/amt';
import { discoverTarget, expandAddressRange, readPowerState, requestPower, type DiscoveryTarget } from '../lib/console';
import type { DeviceUuid } from '../lib/device-uuid';
import type { ConsoleActivities, DiscoveryScope } from './contract';
import type { ActivityDeps } from './deps';

/**
 * OPS1 and OPS2: discovery and power control, each one call into lib/console. Secrets stay in
 * lib/: inputs and results carry addresses, UUIDs, statuses and firmware return values only.
 */
export function consoleActivities(deps: ActivityDeps): ConsoleActivities {
  return {
    /** OPS1: the addresses a sweep probes — a collection's devices by their contacts, or an address range. */
    async listDiscoveryTargets({ scope }: { scope: DiscoveryScope }): Promise<{ targets: DiscoveryTarget[] }> {
      if ('collection' in scope) {
        await deps.store.collections.require(scope.collection);
        const targets: DiscoveryTarget[] = [];
        for (const device of await deps.store.devices.list({ collection: scope.collection })) {
          const contact = await deps.store.contacts.get(device.uuid);
          // A device never heard from has no address: it stays Unknown, with nothing to probe.
          if (contact)
            targets.push({
              host: contact.host,
              httpPort: contact.httpPort,
              tlsPort: contact.tlsPort,
              deviceUuid: device.uuid,
            });
        }
        return { targets };
      }
      const httpPort = scope.httpPort ?? 16992;
      const tlsPort = scope.tlsPort ?? 16993;
      return {
        targets: expandAddressRange(scope.first, scope.last).map((host) => ({ host, httpPort, tlsPort })),
      };
    },

    /** OPS1: one address probed, its status stored with the time seen. */
    async discoverAddress({ target, timeoutMs, sweepId }) {
      const deviceUuid = target.deviceUuid ?? (await deviceAt(deps, target));
      const finding = await discoverTarget(deps, { ...target, ...(deviceUuid ? { deviceUuid } : {}) }, { timeoutMs });
      const seenAt = new Date();
      await deps.store.console.recordDiscovery({
        host: target.host,
        httpPort: target.httpPort,
        tlsPort: target.tlsPort,
        deviceUuid: deviceUuid ?? null,
        status: finding.status,
        amtVersion: finding.amtVersion,
        evidence: finding.evidence,
        seenBy: sweepId,
        seenAt,
      });
      return {
        host: target.host,
        deviceUuid: deviceUuid ?? null,
        status: finding.status,
        amtVersion: finding.amtVersion,
      };
    },

    async listCollectionDevices({ collection }) {
      await deps.store.collections.require(collection);
      return { deviceUuids: (await deps.store.devices.list({ collection })).map((d) => d.uuid) };
    },

    readPowerState: async ({ deviceUuid }) => readPowerState(deps, deviceUuid),

    /** OPS2: a refusal by the firmware becomes a failure typed by its code, carrying the ReturnValue. */
    async requestPowerChange({ deviceUuid, action }) {
      try {
        const outcome = await requestPower(deps, deviceUuid, action);
        return { result: outcome.result, interface: outcome.interface, state: outcome.after?.state ?? 'unknown' };
      } catch (err) {
        if (!(err instanceof AmtPowerError)) throw err;
        throw ApplicationFailure.create({
          type: err.code,
          message: err.message,
          nonRetryable: !err.retryable,
          details: [{ action: err.action, returnValue: err.returnValue, returnCode: err.returnCode }],
        });
      }
    },
  };
}

/** The known device whose last contact is this address and port pair, when exactly one is. */
async function deviceAt(deps: ActivityDeps, target: DiscoveryTarget): Promise<DeviceUuid | undefined> {
  const found = await deps.store.contacts.findByAddress(target.host, target.httpPort);
  return found.length === 1 ? (found[0] as DeviceUuid) : undefined;
}
