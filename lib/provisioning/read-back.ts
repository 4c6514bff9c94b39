import { isDeepStrictEqual } from 'node:util';
import { deviceText } from '../amt';
import { SettingNotKeptError } from './errors';

/**
 * Compares what was written with what the firmware reports, field by field; SETTING_NOT_KEPT names
 * every field that differs. Callers pass non-secret fields only: the values go into the message.
 */
export function expectKept(setting: string, written: Record<string, unknown>, held: object): void {
  const show = (value: unknown) => deviceText(JSON.stringify(value) ?? 'nothing', 200);
  const read = held as Record<string, unknown>;
  const mismatches = Object.entries(written)
    .filter(([field, value]) => !isDeepStrictEqual(value, read[field]))
    .map(([field, value]) => `${field} is ${show(read[field])}, written ${show(value)}`);
  if (mismatches.length > 0) throw new SettingNotKeptError(setting, mismatches);
}
