import type { AmtSettingsInput } from '../../../lib/store';

/** The secrets `sampleProfile` carries, so tests can look for them. */
export interface SampleSecrets {
  digestPassword: string;
  passphrase: string;
  wirelessEapPassword: string;
  wiredEapPassword: string;
  mebxPassword: string;
}

export const SAMPLE_SECRETS: SampleSecrets = {
  digestPassword: 'Dg7#kLp2qRv9xZ!a',
  passphrase: 'corp wifi passphrase 8813',
  wirelessEapPassword: 'eap-wl-Hq29v!Tz',
  wiredEapPassword: 'eap-wd-Mx41c?Rk',
  mebxPassword: 'Mb9$tYw3nQe5uJ@c',
};

/** A profile that uses every part of the settings: ACLs, features, power, wireless, 802.1X, MEBx. */
export function sampleProfile(secrets: SampleSecrets = SAMPLE_SECRETS): AmtSettingsInput {
  return {
    description: 'Head office desktops',
    userAccounts: [
      { type: 'kerberos', account: 'CORP\\AMT Operators', realms: ['Redirection', 'RemoteControl'], access: 'network' },
      { type: 'kerberos', account: 'helpdesk@corp.example.test', realms: ['HardwareAsset', 'GeneralInfo'] },
      {
        type: 'digest',
        username: 'auditor',
        password: secrets.digestPassword,
        realms: ['AuditLog', 'EventLogReader'],
        access: 'local_and_network',
      },
    ],
    ping: true,
    webUi: true,
    serialOverLan: true,
    ideRedirection: false,
    kvm: true,
    userConsent: 'kvm',
    powerPackage: 'desktop_s0_s3_s45',
    wireless: [
      {
        name: 'corpPsk',
        ssid: 'CORP',
        authentication: 'wpa2_psk',
        encryption: 'ccmp',
        priority: 1,
        passphrase: secrets.passphrase,
      },
      {
        name: 'corp1x',
        ssid: 'CORP-SECURE',
        authentication: 'wpa2_ieee8021x',
        encryption: 'ccmp',
        priority: 2,
        ieee8021x: {
          protocol: 'peapv0_eap_mschapv2',
          username: 'amt-wireless',
          password: secrets.wirelessEapPassword,
          securityGroups: ['CN=Wireless AMT,OU=Groups,DC=corp,DC=example,DC=test'],
        },
      },
    ],
    wiredIeee8021x: {
      protocol: 'eap_ttls_mschapv2',
      username: 'amt-wired',
      password: secrets.wiredEapPassword,
      serverCertificateName: 'radius.corp.example.test',
      pxeTimeoutSeconds: 60,
    },
    mebx: { policy: 'set', password: secrets.mebxPassword },
  };
}
