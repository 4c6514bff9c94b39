import { randomInt } from 'node:crypto';
import { faults } from '../wsman/faults';
import type { WsmanClass } from '../wsman/registry';
import { RSC, bool, int, service } from './common';
import { isStrongPassword } from './account-rules';

const REDIRECTION_STATES = [32768, 32769, 32770, 32771];

export const redirectionService: WsmanClass = {
  name: 'AMT_RedirectionService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 2,
  instances({ nvram }) {
    const r = nvram.redirection;
    return [
      service('AMT_RedirectionService', 'Intel(r) AMT Redirection Service', {
        AccessLog: r.accessLog ? [] : undefined,
        EnabledState: r.enabledState,
        ListenerEnabled: r.listenerEnabled,
        RequestedState: undefined,
      }),
    ];
  },
  put({ nvram }, _target, input) {
    nvram.redirection.listenerEnabled = bool(input.text('ListenerEnabled'), nvram.redirection.listenerEnabled);
  },
  methods: {
    RequestStateChange({ nvram }, input) {
      const requested = input.int('RequestedState');
      if (requested === undefined || !REDIRECTION_STATES.includes(requested))
        return { returnValue: RSC.INVALID_PARAMETER };
      nvram.redirection.enabledState = requested;
      return { returnValue: RSC.COMPLETED };
    },
  },
};

/** KVM and user consent arrived with AMT 6.0. */
const SINCE_6: [number, number] = [6, 0];

export const kvmRedirectionSap: WsmanClass = {
  name: 'CIM_KVMRedirectionSAP',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  since: SINCE_6,
  realm: 2,
  instances({ nvram }) {
    // Enabled but offline (6) while the redirection listener is off.
    const state = nvram.kvm.enabledState === 2 && !nvram.redirection.listenerEnabled ? 6 : nvram.kvm.enabledState;
    return [
      {
        CreationClassName: 'CIM_KVMRedirectionSAP',
        ElementName: 'KVM Redirection Service Access Point',
        EnabledState: state,
        KVMProtocol: 4,
        Name: 'KVM Redirection Service Access Point',
        RequestedState: nvram.kvm.enabledState,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'ManagedSystem',
      },
    ];
  },
  methods: {
    RequestStateChange({ nvram }, input) {
      const requested = input.int('RequestedState');
      if (requested !== 2 && requested !== 3) return { returnValue: RSC.INVALID_PARAMETER };
      nvram.kvm.enabledState = requested;
      return { returnValue: RSC.COMPLETED };
    },
  },
};

const KVM_SETTINGS = 'Intel(r) KVM Redirection Settings';

export const kvmRedirectionSettingData: WsmanClass = {
  name: 'IPS_KVMRedirectionSettingData',
  keys: ['InstanceID'],
  since: SINCE_6,
  realm: 2,
  writeOnly: ['RFBPassword'],
  instances({ nvram }) {
    const k = nvram.kvm;
    return [
      {
        BackToBackFbMode: false,
        DefaultScreen: k.defaultScreen,
        DoubleBufferActive: false,
        DoubleBufferEnabled: false,
        ElementName: KVM_SETTINGS,
        EnabledByMEBx: true,
        GrayscalePixelFormatSupported: true,
        InitialDecimationModeForLowRes: 0,
        InstanceID: KVM_SETTINGS,
        Is5900PortEnabled: k.is5900PortEnabled,
        OptInPolicy: k.optInPolicy,
        OptInPolicyTimeout: k.optInPolicyTimeout,
        SessionTimeout: k.sessionTimeout,
        ZlibControlSupported: true,
      },
    ];
  },
  put({ nvram }, _target, input) {
    const k = nvram.kvm;
    const rfb = input.text('RFBPassword');
    // RFB passwords are exactly 8 characters and strong.
    if (rfb !== undefined && (rfb.length !== 8 || !isStrongPassword(rfb))) throw faults.invalidRepresentation();
    k.is5900PortEnabled = bool(input.text('Is5900PortEnabled'), k.is5900PortEnabled);
    k.optInPolicy = bool(input.text('OptInPolicy'), k.optInPolicy);
    k.optInPolicyTimeout = int(input.text('OptInPolicyTimeout'), k.optInPolicyTimeout, 0, 65535);
    k.sessionTimeout = int(input.text('SessionTimeout'), k.sessionTimeout, 0, 65535);
    k.defaultScreen = int(input.text('DefaultScreen'), k.defaultScreen, 0, 255);
    if (rfb !== undefined) k.rfbPassword = rfb;
  },
};

const OPT_IN = { SUCCESS: 0, INTERNAL: 1, INVALID_STATE: 2 } as const;
const OPT_IN_VALUES = [0, 1, 4294967295];

export const optInService: WsmanClass = {
  name: 'IPS_OptInService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  since: SINCE_6,
  realm: 2,
  instances({ nvram }) {
    const o = nvram.optIn;
    return [
      service('IPS_OptInService', 'Intel(r) AMT OptIn Service', {
        CanModifyOptInPolicy: nvram.provisioning.controlMode !== 1,
        OptInCodeTimeout: o.codeTimeout,
        OptInDisplayTimeout: o.displayTimeout,
        OptInRequired: o.required,
        OptInState: o.state,
      }),
    ];
  },
  put({ nvram }, _target, input) {
    const o = nvram.optIn;
    const required = int(input.text('OptInRequired'), o.required);
    if (!OPT_IN_VALUES.includes(required)) throw faults.invalidRepresentation();
    // CCM forces consent for everything (reference §4.15).
    if (nvram.provisioning.controlMode === 1 && required !== 4294967295) throw faults.invalidRepresentation();
    o.required = required;
    o.codeTimeout = int(input.text('OptInCodeTimeout'), o.codeTimeout, 60, 900);
    o.displayTimeout = int(input.text('OptInDisplayTimeout'), o.displayTimeout, 0, 65535);
  },
  methods: {
    StartOptIn({ nvram }) {
      if (nvram.optIn.state !== 0) return { returnValue: OPT_IN.INVALID_STATE };
      // The code appears on the host screen: visible to tests through the NVRAM oracle.
      nvram.optIn = { ...nvram.optIn, state: 2, code: randomInt(0, 1_000_000) };
      return { returnValue: OPT_IN.SUCCESS };
    },
    SendOptInCode({ nvram }, input) {
      if (nvram.optIn.state !== 2) return { returnValue: OPT_IN.INVALID_STATE };
      if (input.int('OptInCode') !== nvram.optIn.code) return { returnValue: OPT_IN.INTERNAL };
      nvram.optIn = { ...nvram.optIn, state: 3, code: null };
      return { returnValue: OPT_IN.SUCCESS };
    },
    CancelOptIn({ nvram }) {
      nvram.optIn = { ...nvram.optIn, state: 0, code: null };
      return { returnValue: OPT_IN.SUCCESS };
    },
  },
};
