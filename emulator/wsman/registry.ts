import type { Nvram } from '../device/nvram';
import type { Host } from '../host/host';
import type { PoolKey } from '../keys/pool';
import type { Epr } from './envelope';
import { faults } from './faults';
import { child, childrenNamed, type XmlElement } from './xml';
import { parseEpr } from './envelope';
import type { Props } from './writer';

/** Who is calling, as the digest check established it. */
export interface AuthContext {
  username: string;
  /** admin: the admin account; local: `$$OsAdmin` (host path); user: an ACL entry. */
  kind: 'admin' | 'local' | 'user';
  realms: number[] | 'all';
}

/** What a remote-configuration TLS session established (reference §6.4). */
export interface ProvisioningSession {
  algorithm: 'sha1' | 'sha256' | 'sha384';
  rootHash: string;
  leafCn: string;
}

/** Everything a class handler may touch: the NVRAM and the firmware services around it. */
export interface FirmwareContext {
  nvram: Nvram;
  auth: AuthContext;
  session: ProvisioningSession | null;
  /** The AMT clock: host time plus the NVRAM clock offset. */
  now(): Date;
  drawKey(): PoolKey;
  /** Tells the device runtime about changes beyond NVRAM (hello schedule, sessions). */
  signal(event: FirmwareEvent): void;
  /** The computer around the ME: power state, console, IDE-R drive, open redirection sessions. */
  host: Host;
}

export type FirmwareEvent = { kind: 'provisioning-changed' } | { kind: 'extend-provisioning-period'; hours: number };

export interface MethodOutput {
  returnValue: number;
  /** Output parameters in MOF order. */
  out?: Props;
}

export type MethodHandler = (ctx: FirmwareContext, input: MethodInput, target: Props | null) => MethodOutput;

/**
 * One WS-Man class: its instances are computed from NVRAM on every request, so the NVRAM stays
 * the single source of truth and restore-after-restart needs nothing else.
 */
export interface WsmanClass {
  name: string;
  /** Selector (key) property names. */
  keys: string[];
  /** Lowest firmware version that has the class (major, minor). */
  since?: [number, number];
  /** Access realm an ACL user needs (reference §4.5 realm ids); admin and $$OsAdmin have all. */
  realm: number;
  instances(ctx: FirmwareContext): Props[];
  /** Properties a Put may carry although Get never returns them (passwords, keys). */
  writeOnly?: string[];
  /** Elements a Create body may carry. */
  createFields?: string[];
  put?(ctx: FirmwareContext, target: Props, input: PutInput): void;
  create?(ctx: FirmwareContext, input: PutInput): Record<string, string | Epr>;
  delete?(ctx: FirmwareContext, target: Props): void;
  methods?: Record<string, MethodHandler>;
}

/** Typed reads of a method's `_INPUT` element. Malformed values are the caller's fault. */
export class MethodInput {
  constructor(readonly element: XmlElement | undefined) {}

  has(name: string): boolean {
    return child(this.element, name) !== undefined;
  }

  text(name: string): string | undefined {
    return child(this.element, name)?.text;
  }

  texts(name: string): string[] {
    return childrenNamed(this.element, name).map((e) => e.text);
  }

  int(name: string): number | undefined {
    const t = this.text(name);
    if (t === undefined) return undefined;
    if (!/^-?\d{1,10}$/.test(t)) throw faults.invalidRepresentation();
    return Number(t);
  }

  bool(name: string): boolean | undefined {
    const t = this.text(name);
    if (t === undefined) return undefined;
    if (t !== 'true' && t !== 'false' && t !== '1' && t !== '0') throw faults.invalidRepresentation();
    return t === 'true' || t === '1';
  }

  epr(name: string): Epr | undefined {
    const el = child(this.element, name);
    return el ? parseEpr(el) : undefined;
  }

  child(name: string): MethodInput {
    return new MethodInput(child(this.element, name));
  }
}

/**
 * The body of a Put or Create. AMT validates it against the class XSD (reference §2.3): unknown
 * elements and elements out of the XSD order (ASCII order, the order AMT itself emits) are
 * rejected with SchemaValidationError.
 */
export class PutInput extends MethodInput {
  static of(className: string, body: XmlElement | undefined, allowed: readonly string[]): PutInput {
    if (!body || body.name !== className) throw faults.schemaValidation();
    let previous = '';
    for (const c of body.children) {
      if (!allowed.includes(c.name)) throw faults.schemaValidation();
      if (c.name < previous) throw faults.schemaValidation();
      previous = c.name;
    }
    return new PutInput(body);
  }
}

/** Handlers for `Put`: a string property must be present in a full-instance Put. */
export function required(value: string | undefined): string {
  if (value === undefined) throw faults.invalidRepresentation('MissingValues');
  return value;
}
