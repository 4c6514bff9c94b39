import { amtSettingsSchema, type AmtSettings } from '../lib/store/profile-settings';
import type { ActivityDeps } from './deps';

export interface DeviceProfile {
  /** Null when the device's collection names no profile: the defaults apply, which hold no secret. */
  name: string | null;
  settings: AmtSettings;
}

/** The settings profile of the device's collection (OOB9, OOB8.5). */
export async function deviceProfile(deps: ActivityDeps, deviceUuid: string): Promise<DeviceProfile> {
  const { settingsProfile } = await deps.store.devices.automaticProvisioning(deviceUuid);
  if (settingsProfile === null) return { name: null, settings: amtSettingsSchema.parse({}) };
  const profile = await deps.store.profiles.require(settingsProfile);
  return { name: profile.name, settings: profile.settings };
}

/** One sealed secret of the profile; only a named profile can hold one. */
export async function profileSecret(deps: ActivityDeps, profile: DeviceProfile, secretName: string): Promise<string> {
  if (profile.name === null) throw new Error(`the default settings hold no secret ${secretName}`);
  return deps.store.profiles.revealSecret(profile.name, secretName);
}
