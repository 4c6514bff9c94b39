import type { DeviceUuid } from '../device-uuid';
import type { Store } from '../store';
import { amtSettingsSchema, type AmtSettings } from '../store/profile-settings';

/** The settings profile of a device's collection (OOB9, OOB8.5). */
export interface DeviceProfile {
  /** Null when the device's collection names no profile: the defaults apply, which hold no secret. */
  name: string | null;
  settings: AmtSettings;
}

export async function deviceProfile(store: Store, deviceUuid: DeviceUuid): Promise<DeviceProfile> {
  const { settingsProfile } = await store.devices.automaticProvisioning(deviceUuid);
  if (settingsProfile === null) return { name: null, settings: amtSettingsSchema.parse({}) };
  const profile = await store.profiles.require(settingsProfile);
  return { name: profile.name, settings: profile.settings };
}

/** One sealed secret of the profile, by its `profileSecretName`; only a named profile can hold one. */
export async function profileSecret(store: Store, profile: DeviceProfile, secretName: string): Promise<string> {
  if (profile.name === null) throw new Error(`the default settings hold no secret ${secretName}`);
  return store.profiles.revealSecret(profile.name, secretName);
}

/**
 * I5: the security groups the profile names for its 802.1X networks (wired and each wireless one),
 * each once. None — the default — turns I5 off.
 */
export function securityGroupsOf(settings: AmtSettings): string[] {
  const networks = [
    settings.wiredIeee8021x,
    ...settings.wireless.map((wireless) => ('ieee8021x' in wireless ? wireless.ieee8021x : null)),
  ];
  return [...new Set(networks.flatMap((network) => network?.securityGroups ?? []))];
}
