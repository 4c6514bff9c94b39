import type { AmtSession } from '../../../lib/amt/session';
import { adminSession } from './support';
import { WIRELESS_AUTHENTICATION, WIRELESS_ENCRYPTION } from '../../../lib/amt/vocabulary';
import { ProvisioningError } from '../../../lib/provisioning/errors';
import { applyNetworkAuthentication, type Ieee8021xEnrolment } from '../../../lib/provisioning/stage-two';
import { amtSettingsSchema } from '../../../lib/store/profile-settings';
import { amtFailure } from '../../support/amt-failure';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §3, OOB9.4 "detect the wireless capability": a Wi-Fi module without TKIP (newer modules
 * dropped it) refuses a TKIP profile at AddWiFiSettings. amtflow reads CIM_WiFiEndpointCapabilities
 * first and refuses such a settings profile before deleting anything, so the device keeps the Wi-Fi
 * it had instead of ending with none after each retry.
 */
describe('wireless profiles the Wi-Fi module cannot hold', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const password = 'W1reless!Caps';
  const passphrases: Record<string, string> = { office: 'office-psk-0123', legacy: 'legacy-psk-0123' };

  beforeAll(async () => {
    fleet = await testFleet([
      { state: 'post', adminPassword: password, helloEnabled: false, wifiEncryptionMethods: [4, 5] },
    ]);
  });
  afterAll(() => fleet.cleanup());

  const device = () => fleet.devices[0]!;
  const session = (): AmtSession => adminSession(device(), password);
  const wireless = (name: string, encryption: 'tkip' | 'ccmp', priority: number) => ({
    name,
    ssid: `corp-${name}`,
    authentication: 'wpa2_psk' as const,
    encryption,
    priority,
  });
  const apply = (profiles: ReturnType<typeof wireless>[]) =>
    applyNetworkAuthentication(
      {
        amt: session(),
        settings: amtSettingsSchema.parse({ wireless: profiles }),
        secret: async (name) => passphrases[/^wireless\/(.+)\/psk$/.exec(name)?.[1] ?? ''] ?? 'missing',
      },
      // PSK profiles enrol no 802.1X certificate.
      {} as Ieee8021xEnrolment,
      { update: false },
    );
  const storedSsids = () =>
    device()
      .nvram()
      .wifi.profiles.map((p) => p.ssid);

  it('is a firmware rule: the emulated module refuses TKIP at AddWiFiSettings', async () => {
    const error = await amtFailure(
      session().wsman.network.addWiFiProfile({
        name: 'direct',
        ssid: 'corp-direct',
        priority: 9,
        authenticationMethod: WIRELESS_AUTHENTICATION.wpa2_psk.id,
        encryptionMethod: WIRELESS_ENCRYPTION.tkip,
        pskPassPhrase: 'direct-psk-0123',
      }),
    );
    expect(error.message).toMatch(/AddWiFiSettings/);
    expect(storedSsids()).not.toContain('corp-direct');
  });

  it('is a firmware rule: AddWiFiSettings takes only letters and digits as the profile name', async () => {
    const add = (name: string) =>
      session().wsman.network.addWiFiProfile({
        name,
        ssid: `ssid-${name}`,
        priority: 8,
        authenticationMethod: WIRELESS_AUTHENTICATION.wpa2_psk.id,
        encryptionMethod: WIRELESS_ENCRYPTION.ccmp,
        pskPassPhrase: 'named-psk-0123',
      });
    // The name amtflow refuses at profile save (lib/store/profile-settings.ts) is one the firmware refuses.
    expect((await amtFailure(add('corp-wifi'))).message).toMatch(/AddWiFiSettings/);
    expect(storedSsids()).not.toContain('ssid-corp-wifi');
    await add('corpwifi');
    expect(storedSsids()).toContain('ssid-corpwifi');
  });

  it('reads what the module supports', async () => {
    expect(await session().wsman.network.wirelessCapabilities()).toEqual({
      authenticationMethods: [2, 3, 4, 5, 6, 7],
      encryptionMethods: [4, 5],
    });
  });

  it('stores a profile the module supports, replacing what was there', async () => {
    await expect(apply([wireless('office', 'ccmp', 1)])).resolves.toEqual({ profiles: 1 });
    expect(storedSsids()).toEqual(['corp-office']);
  });

  it('refuses a TKIP profile before deleting anything, naming the profile and the method', async () => {
    const error = await apply([wireless('legacy', 'tkip', 2), wireless('office', 'ccmp', 1)]).then(
      () => undefined,
      (err: unknown) => err as ProvisioningError,
    );
    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error).toMatchObject({ code: 'WIRELESS_PROFILE_UNSUPPORTED', retryable: false });
    expect(error?.message).toContain('wireless profile legacy needs encryption tkip (3)');
    expect(error?.message).not.toContain(passphrases.legacy);
    // The device keeps the Wi-Fi it had.
    expect(storedSsids()).toEqual(['corp-office']);
  });
});
