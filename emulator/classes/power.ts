import { resourceUriOf } from '../wsman/namespaces';
import type { WsmanClass } from '../wsman/registry';
import { epr } from '../wsman/writer';
import { PT } from './common';

/**
 * Intel's power packages (reference §4.16): description and SchemeGUID (base64 of the raw bytes
 * LMS lists). The emulated desktop exposes two of them, as OEMs typically do.
 */
export const POWER_SCHEMES: { description: string; guid: string }[] = [
  { description: 'Mobile: ON in S0', guid: 'djmXEQtWUEOIcJgS85G1YA==' },
  { description: 'Mobile: ON in S0, S3/AC', guid: 'JtMcdocIx0u7Xzh0QxWl/w==' },
  { description: 'Mobile: ON in S0, S3/AC, S4-5/AC', guid: 'Uw4I22wP2Uiy0olY0/EVbg==' },
  { description: 'Mobile: ON in S0, ME Wake in S3/AC', guid: 'BV3Vtkykh02lqLR8FN7aXw==' },
  { description: 'Mobile: ON in S0, ME Wake in S3/AC, S4-5/AC', guid: 'MIAN7gnAeEOvKHhootu+Og==' },
  { description: 'Desktop: ON in S0', guid: 'lE+DEvsQT9yWjh4jKwyQZQ==' },
  { description: 'Desktop: ON in S0, S3', guid: 'oYYAq5p/TEKm5rskOildng==' },
  { description: 'Desktop: ON in S0, S3, S4-5', guid: 'coarrJa0SOKbnpt9+Rx/1A==' },
  { description: 'Desktop: ON in S0, ME Wake in S3', guid: 'ezLNTWu+Q4mmKk172NvQJg==' },
  { description: 'Desktop: ON in S0, ME Wake in S3, S4-5', guid: 'cyJzRiPcQy+pihPTeYLYVQ==' },
  { description: 'Desktop: ON in S0, S3, S4-5, OFF after power loss', guid: 'xRmkum5vjU2yJ1F/fkWV2w==' },
  { description: 'Desktop: ON in S0, ME Wake in S3, S4-5, OFF after power loss', guid: '1gvj7QTFLEa3ctGAGO4vxA==' },
];

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

/** CIM power states a client may request (reference: CIM_PowerManagementService). */
const POWER_STATES = new Map<number, number>([
  [2, 2], // on
  [5, 2], // power cycle (off soft), ends on
  [8, 8], // off soft
  [10, 2], // master bus reset
  [12, 8], // off soft graceful
  [13, 8], // off hard graceful
  [14, 2], // master bus reset graceful
  [15, 2], // power cycle graceful
]);

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
    RequestPowerStateChange({ nvram }, input) {
      const requested = input.int('PowerState');
      const next = requested === undefined ? undefined : POWER_STATES.get(requested);
      // CIM codes: 0 completed, 1 not supported, 2 unknown/unspecified error.
      if (next === undefined) return { returnValue: 1 };
      // Turning on an already running host (or off a stopped one) is not a valid transition.
      if ((requested === 2 && nvram.power.hostPowerState === 2) || (next === 8 && nvram.power.hostPowerState === 8)) {
        return { returnValue: 2 };
      }
      nvram.power.hostPowerState = next;
      return { returnValue: 0 };
    },
  },
};

export const associatedPowerManagementService: WsmanClass = {
  name: 'CIM_AssociatedPowerManagementService',
  keys: ['ServiceProvided', 'UserOfService'],
  realm: 5,
  instances({ nvram }) {
    return [
      {
        AvailableRequestedPowerStates: [2, 5, 8, 10, 12, 13, 14, 15],
        PowerState: nvram.power.hostPowerState,
        ServiceProvided: powerService(),
        UserOfService: computerSystem(),
      },
    ];
  },
};
