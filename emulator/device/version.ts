/** AMT firmware versions as `major.minor.hotfix` (the `Server:` header adds a build number). */
export interface AmtVersion {
  major: number;
  minor: number;
  hotfix: number;
}

const VERSION = /^(\d{1,2})\.(\d{1,2})\.(\d{1,4})$/;

export function parseAmtVersion(text: string): AmtVersion | null {
  const m = VERSION.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), hotfix: Number(m[3]) };
}

/** True when `version` (a valid `x.y.z`) is at least `major.minor`. */
export function versionAtLeast(version: string, major: number, minor = 0): boolean {
  const v = parseAmtVersion(version);
  if (!v) return false;
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** The oldest firmware the emulator models: spec P2 rejects anything older than 3.2.1. */
export const MIN_VERSION = '3.2.1';
export const MAX_MAJOR = 19;

export function isSupportedVersion(text: string): boolean {
  const v = parseAmtVersion(text);
  if (!v || v.major > MAX_MAJOR) return false;
  return v.major > 3 || (v.major === 3 && (v.minor > 2 || (v.minor === 2 && v.hotfix >= 1)));
}

/** Release 6.0 replaced the EOI SOAP interfaces with WS-Management (reference §6.7). */
export function isLegacy(version: string): boolean {
  return !versionAtLeast(version, 6);
}
