import { resourceUriOf } from '../wsman/namespaces';
import type { WsmanClass } from '../wsman/registry';
import { epr } from '../wsman/writer';
import { PT } from './common';
import { versionAtLeast } from '../device/version';
import type { Refusal } from '../host/host';
import { CHANGE_RULES, CIM_POWER_STATE, POWER_SCHEMES, type HostState, type PowerChange } from '../host/power';

const schemeInstanceId = (index: number) => `Intel(r) AMT Power Scheme ${index}`;
const computerSystem = () =>
  epr(resourceUriOf('CIM_ComputerSystem'), { CreationClassName: 'CIM_ComputerSystem', Name: 'ManagedSystem' });

export const systemPowerScheme: WsmanClass = {
  name: 'AMT_SystemPowerScheme',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    return nvram.power.availableSchemes.map((i) => ({
      Description: POWER_SCHEMES[i]!.description,
      ElementName: POWER_SCHEMES[i]!.description,
      InstanceID: schemeInstanceId(i),
      SchemeGUID: POWER_SCHEMES[i]!.guid,
    }));
  },
  methods: {
    SetPowerScheme({ nvram }, _input, target) {
      if (!target) return { returnValue: PT.INVALID_PARAMETER };
      nvram.power.schemeIndex = nvram.power.availableSchemes.find((i) => schemeInstanceId(i) === target.InstanceID)!;
      return { returnValue: PT.SUCCESS };
    },
  },
};

/** The association marking the active power scheme (IsCurrent 1 = current, 2 = not). */
export const elementSettingData: WsmanClass = {
  name: 'CIM_ElementSettingData',
  keys: ['ManagedElement', 'SettingData'],
  realm: 3,
  instances({ nvram }) {
    return nvram.power.availableSchemes.map((i) => ({
      IsCurrent: i === nvram.power.schemeIndex ? 1 : 2,
      ManagedElement: computerSystem(),
      SettingData: epr(resourceUriOf('AMT_SystemPowerScheme'), { InstanceID: schemeInstanceId(i) }),
    }));
  },
};

/**
 * PowerState values RequestPowerStateChange accepts, with the first release that offers them:
 * 2, 5, 8 and 10 on every release, 4 and 7 from 9.0 (SDK-PWR table), the graceful 12 and 14 from
 * 10 (MeshCommander and the Open AMT console offer them only above 9) [inferred].
 */
const REQUESTS: ReadonlyMap<number, { change: PowerChange; since: number }> = new Map([
  [2, { change: 'on', since: 0 }],
  [4, { change: 'sleep', since: 9 }],
  [5, { change: 'cycle', since: 0 }],
  [7, { change: 'hibernate', since: 9 }],
  [8, { change: 'off', since: 0 }],
  [10, { change: 'reset', since: 0 }],
  [12, { change: 'graceful-off', since: 10 }],
  [14, { change: 'graceful-reset', since: 10 }],
]);

/** CIM ReturnValues of RequestPowerStateChange (GWM `cim/power/decoder.go`). */
const RPSC = { COMPLETED: 0, UNKNOWN_ERROR: 2, INVALID_PARAMETER: 5 } as const;

function offered(amtVersion: string, value: number): PowerChange | undefined {
  const request = REQUESTS.get(value);
  return request && versionAtLeast(amtVersion, request.since) ? request.change : undefined;
}

/** The PowerState values the firmware would accept now (AvailableRequestedPowerStates). */
function availableRequests(amtVersion: string, state: HostState): number[] {
  return [...REQUESTS.keys()].filter((value) => {
    const change = offered(amtVersion, value);
    return change !== undefined && CHANGE_RULES[change].from.includes(state);
  });
}

const powerService = () =>
  epr(resourceUriOf('CIM_PowerManagementService'), {
    CreationClassName: 'CIM_PowerManagementService',
    Name: 'Intel(r) AMT Power Management Service',
    SystemCreationClassName: 'CIM_ComputerSystem',
    SystemName: 'Intel(r) AMT',
  });

export const powerManagementService: WsmanClass = {
  name: 'CIM_PowerManagementService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 5,
  instances() {
    return [
      {
        CreationClassName: 'CIM_PowerManagementService',
        ElementName: 'Intel(r) AMT Power Management Service',
        EnabledState: 5,
        Name: 'Intel(r) AMT Power Management Service',
        RequestedState: 12,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'Intel(r) AMT',
      },
    ];
  },
  methods: {
    /**
     * SDK-PWR: PowerState plus ManagedElement (the managed system, CIM_ComputerSystem
     * "ManagedSystem"); Time and TimeoutPeriod NULL. Refusals answer 2 (Unknown/Unspecified
     * Error): a power change from the wrong state (sdague/amt#16, #28 show 2), a value this
     * release does not offer (MeshCentral#2426 read 2 as NOT_READY), and a power-off or cycle
     * while a redirection session is open ("rejected as invalid", value [inferred]).
     */
    RequestPowerStateChange({ nvram, host }, input) {
      const value = input.int('PowerState');
      const element = input.epr('ManagedElement');
      const system =
        element?.resourceUri.endsWith('/CIM_ComputerSystem') &&
        [undefined, 'ManagedSystem'].includes(element.selectors.get('Name') as string | undefined);
      if (value === undefined || value < 1 || value > 17 || !system) return { returnValue: RPSC.INVALID_PARAMETER };
      host.lastRequested = value;
      const change = offered(nvram.amtVersion, value);
      if (!change) return { returnValue: RPSC.UNKNOWN_ERROR };
      const returnValue = host.request(
        change,
        { source: 'wsman', request: `RequestPowerStateChange(${value})` },
        (refusal: Refusal | null) =>
          refusal === null ? RPSC.COMPLETED : refusal.kind === 'fault' ? refusal.returnValue : RPSC.UNKNOWN_ERROR,
      );
      return { returnValue };
    },
  },
};

export const associatedPowerManagementService: WsmanClass = {
  name: 'CIM_AssociatedPowerManagementService',
  keys: ['ServiceProvided', 'UserOfService'],
  realm: 5,
  instances({ nvram, host }) {
    return [
      {
        AvailableRequestedPowerStates: availableRequests(nvram.amtVersion, host.state),
        PowerState: CIM_POWER_STATE[host.state],
        RequestedPowerState: host.lastRequested,
        ServiceProvided: powerService(),
        UserOfService: computerSystem(),
      },
    ];
  },
};
