import { AmtProtocolError } from '../errors';
import { isXmlObject, listOf, textOf, type XmlValue } from '../xml';
import type { WsmanInstance, WsmanValue } from './envelope';

/**
 * Typed reads of instance properties, and the merge rule for Put: the instance goes back exactly as
 * it was read (same elements, same order), with only the changed values replaced. A property the
 * read instance lacks (write-only ones such as Kerberos' MasterKey) is inserted before the first
 * property that sorts after it in ASCII order — the order AMT itself emits, which its XSD
 * validation is inferred to expect (protocol reference §2.3).
 */

function raw(instance: WsmanInstance, name: string): XmlValue | undefined {
  return instance.properties[name];
}

export function optionalString(instance: WsmanInstance, name: string): string | undefined {
  return textOf(raw(instance, name));
}

export function requiredString(instance: WsmanInstance, name: string): string {
  const value = optionalString(instance, name);
  if (value === undefined) throw new AmtProtocolError(`${instance.className} has no ${name}`);
  return value;
}

function toInteger(instance: WsmanInstance, name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) {
    throw new AmtProtocolError(`${instance.className}.${name} is not an integer`);
  }
  return value;
}

export function optionalInteger(instance: WsmanInstance, name: string): number | undefined {
  const text = optionalString(instance, name);
  return text === undefined ? undefined : toInteger(instance, name, text);
}

export function requiredInteger(instance: WsmanInstance, name: string): number {
  return toInteger(instance, name, requiredString(instance, name));
}

export function optionalBoolean(instance: WsmanInstance, name: string): boolean | undefined {
  const text = optionalString(instance, name)?.trim().toLowerCase();
  if (text === undefined) return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new AmtProtocolError(`${instance.className}.${name} is not a boolean`);
}

export function stringList(instance: WsmanInstance, name: string): string[] {
  return listOf(raw(instance, name))
    .map((v) => textOf(v))
    .filter((v): v is string => v !== undefined);
}

export function integerList(instance: WsmanInstance, name: string): number[] {
  return stringList(instance, name).map((text) => toInteger(instance, name, text));
}

/** A read property as a value to send back; structured values (datetimes, references) cannot be Put. */
function writable(className: string, name: string, value: XmlValue): WsmanValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (typeof item !== 'string') throw new TypeError(`${className}.${name}: structured array values cannot be Put`);
      return item;
    });
  }
  if (isXmlObject(value) && value['@_nil'] === 'true') return null;
  const text = textOf(value);
  if (text !== undefined) return text;
  throw new TypeError(`${className}.${name}: structured values cannot be Put`);
}

/** In Put changes: drop the property from the instance (RPS drops the IP fields when switching to DHCP). */
export const REMOVE: unique symbol = Symbol('remove property');

/** Put changes: a new value, REMOVE, or undefined to leave the property as read. */
export type PutChanges = Readonly<Record<string, WsmanValue | typeof REMOVE | undefined>>;

/** The properties to Put: the read instance with `changes` applied as described above. */
export function mergeForPut(instance: WsmanInstance, changes: PutChanges): Record<string, WsmanValue> {
  const entries: [string, WsmanValue | typeof REMOVE][] = Object.entries(instance.properties).map(([name, value]) => {
    const change = changes[name];
    return [name, change === undefined ? writable(instance.className, name, value) : change];
  });
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === REMOVE || name in instance.properties) continue;
    const at = entries.findIndex(([existing]) => existing > name);
    entries.splice(at < 0 ? entries.length : at, 0, [name, value]);
  }
  return Object.fromEntries(entries.filter((entry): entry is [string, WsmanValue] => entry[1] !== REMOVE));
}
