import { ProvisioningError } from './errors';

/** Spec P2: the oldest AMT release amtflow provisions. */
export const MINIMUM_AMT_VERSION = '3.2.1';

/**
 * True when the dotted release `version` (e.g. `11.8.50.3425`) is older than `minimum`, compared
 * part by part as numbers; a part `version` lacks counts as 0.
 */
export function isOlderAmtVersion(version: string, minimum: string): boolean {
  const parts = version.split('.').map(Number);
  const least = minimum.split('.').map(Number);
  for (let i = 0; i < least.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== least[i]) return part < (least[i] as number);
  }
  return false;
}

/**
 * Spec P2: refuses firmware older than {@link MINIMUM_AMT_VERSION}.
 * @throws ProvisioningError `AMT_VERSION_UNSUPPORTED` (final), naming the device and its release.
 */
export function assertProvisionableAmtVersion(version: string, fqdn: string): void {
  if (isOlderAmtVersion(version, MINIMUM_AMT_VERSION)) {
    throw new ProvisioningError(
      'AMT_VERSION_UNSUPPORTED',
      `${fqdn} runs AMT ${version}; amtflow provisions AMT ${MINIMUM_AMT_VERSION} and later (spec P2)`,
    );
  }
}
