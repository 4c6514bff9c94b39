import type { WsmanClass } from '../wsman/registry';
import { authorizationService, kerberosSettingData } from './authorization';
import {
  ethernetPortSettings,
  generalSettings,
  softwareIdentity,
  timeSynchronizationService,
  webUiService,
} from './general';
import {
  publicKeyCertificate,
  publicKeyManagementService,
  publicPrivateKeyPair,
  tlsCredentialContext,
  tlsProtocolEndpointCollection,
  tlsSettingData,
} from './pki';
import {
  associatedPowerManagementService,
  elementSettingData,
  powerManagementService,
  systemPowerScheme,
} from './power';
import { kvmRedirectionSap, kvmRedirectionSettingData, optInService, redirectionService } from './redirection';
import { hostBasedSetupService, provisioningCertificateHash, setupAndConfigurationService } from './setup';
import {
  ieee8021xSettings,
  wifiEndpoint,
  wifiEndpointCapabilities,
  wifiEndpointSettings,
  wifiPort,
  wifiPortConfigurationService,
} from './wireless';

/** Every WS-Man class the emulator serves, by name. */
export const CLASSES: ReadonlyMap<string, WsmanClass> = new Map(
  [
    setupAndConfigurationService,
    hostBasedSetupService,
    provisioningCertificateHash,
    generalSettings,
    webUiService,
    softwareIdentity,
    timeSynchronizationService,
    ethernetPortSettings,
    authorizationService,
    kerberosSettingData,
    publicKeyManagementService,
    publicKeyCertificate,
    publicPrivateKeyPair,
    tlsSettingData,
    tlsCredentialContext,
    tlsProtocolEndpointCollection,
    redirectionService,
    kvmRedirectionSap,
    kvmRedirectionSettingData,
    optInService,
    systemPowerScheme,
    elementSettingData,
    powerManagementService,
    associatedPowerManagementService,
    wifiPortConfigurationService,
    wifiEndpointSettings,
    wifiEndpointCapabilities,
    wifiPort,
    wifiEndpoint,
    ieee8021xSettings,
  ].map((c) => [c.name, c]),
);
