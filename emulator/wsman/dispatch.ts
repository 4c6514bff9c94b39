import { versionAtLeast } from '../device/version';
import type { Epr, SelectorValue, Selectors, WsmanRequest } from './envelope';
import { faults } from './faults';
import { ACTIONS, NS, classNameOf, resourceUriOf } from './namespaces';
import { MethodInput, PutInput, type FirmwareContext, type WsmanClass } from './registry';
import { envelope, epr, eprXml, instanceXml, outputXml, type Props, type Value } from './writer';
import { childText } from './xml';

export interface EnumerationLimits {
  /** Contexts open at once; an Enumerate beyond them fails with QuotaLimit. */
  max: number;
  /** A context not pulled for this long is dropped, as if released. */
  idleMs: number;
}

/**
 * Firmware holds few enumeration contexts, and keeps one until the enumeration ends, the client
 * releases it, or it sits idle too long; a client that abandons enumerations without Release runs
 * the device out, and Enumerate then fails until contexts expire. AMT's own numbers are not
 * published (not in the SDK's DSP0226 compliance page, the LMS headers, MeshCentral or RPS), so
 * these are the emulator's [uncertain]: 8 contexts — a firmware-sized handful that no sequential
 * client reaches — and the 60 s every client sends as its OperationTimeout, as the idle expiry.
 */
export const FIRMWARE_ENUMERATION_LIMITS: EnumerationLimits = { max: 8, idleMs: 60_000 };

/** Enumeration contexts of one device (reference §2.3), within `limits`. */
export class EnumerationContexts {
  private readonly contexts = new Map<string, { className: string; items: Props[]; usedAt: number }>();
  private counter = 0x13;

  constructor(
    private readonly limits: EnumerationLimits = FIRMWARE_ENUMERATION_LIMITS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A new context, or null when every slot is taken by a live one. */
  open(className: string, items: Props[]): string | null {
    this.expire();
    if (this.contexts.size >= this.limits.max) return null;
    const id = this.nextId();
    this.contexts.set(id, { className, items, usedAt: this.clock() });
    return id;
  }

  take(id: string, className: string, max: number): { items: Props[]; done: boolean } | null {
    this.expire();
    const ctx = this.contexts.get(id);
    if (!ctx || ctx.className !== className) return null;
    ctx.usedAt = this.clock();
    const items = ctx.items.splice(0, max);
    const done = ctx.items.length === 0;
    if (done) this.contexts.delete(id);
    return { items, done };
  }

  /**
   * The context a PullResponse hands back in place of `id` (WS-Enumeration: the new one supersedes
   * it), keeping its slot and items; null when `id` is not a live context of `className`.
   */
  renew(id: string, className: string): string | null {
    this.expire();
    const ctx = this.contexts.get(id);
    if (!ctx || ctx.className !== className) return null;
    this.contexts.delete(id);
    const next = this.nextId();
    this.contexts.set(next, { ...ctx, usedAt: this.clock() });
    return next;
  }

  release(id: string): boolean {
    this.expire();
    return this.contexts.delete(id);
  }

  /** Contexts open now (the test oracle for leaks). */
  get size(): number {
    this.expire();
    return this.contexts.size;
  }

  clear(): void {
    this.contexts.clear();
  }

  private nextId(): string {
    this.counter = (this.counter + 1) % 0xffffffff;
    return `${this.counter.toString(16).toUpperCase().padStart(8, '0')}-0000-0000-0000-000000000000`;
  }

  private expire(): void {
    const now = this.clock();
    for (const [id, ctx] of this.contexts) if (now - ctx.usedAt >= this.limits.idleMs) this.contexts.delete(id);
  }
}

export interface DispatchDeps {
  classes: ReadonlyMap<string, WsmanClass>;
  enumerations: EnumerationContexts;
  nextMessageId(): string;
}

/** Does `props` match every selector? Unknown selector names are the caller's fault. */
function matches(cls: WsmanClass, props: Props, selectors: Selectors): boolean {
  for (const [name, value] of selectors) {
    if (!cls.keys.includes(name)) throw faults.invalidSelectors();
    if (!sameValue(props[name], value)) return false;
  }
  return true;
}

/**
 * Selector comparison. EPR-valued keys compare by their own string selectors; clients send
 * `TLSProtocolEndpointInstances Collection` where AMT reports `TLSProtocolEndpoint Instances
 * Collection` (reference §4.10), so whitespace is not significant inside EPR selectors.
 */
function sameValue(actual: Value, wanted: SelectorValue): boolean {
  if (typeof wanted === 'string') return actual !== null && actual !== undefined && String(actual) === wanted;
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
  const have = actual as Epr;
  if (classNameOf(have.resourceUri) !== classNameOf(wanted.resourceUri)) return false;
  for (const [name, value] of wanted.selectors) {
    const mine = have.selectors.get(name);
    if (typeof mine !== 'string' || typeof value !== 'string') return false;
    if (mine.replace(/\s+/g, '') !== value.replace(/\s+/g, '')) return false;
  }
  return true;
}

function selectTarget(cls: WsmanClass, ctx: FirmwareContext, selectors: Selectors): Props {
  const all = cls.instances(ctx);
  if (selectors.size === 0) {
    if (all.length === 1) return all[0]!;
    throw all.length === 0 ? faults.destinationUnreachable() : faults.invalidSelectors();
  }
  const found = all.find((p) => matches(cls, p, selectors));
  if (!found) throw faults.destinationUnreachable();
  return found;
}

function keySelectors(cls: WsmanClass, props: Props): Selectors {
  const s: Selectors = new Map();
  for (const k of cls.keys) {
    const v = props[k];
    if (typeof v === 'string' || typeof v === 'number') s.set(k, String(v));
    else if (v && typeof v === 'object' && !Array.isArray(v)) s.set(k, v);
  }
  return s;
}

/** Handles one authenticated WS-Man request; returns the response envelope or throws a WsmanFault. */
export function dispatch(req: WsmanRequest, ctx: FirmwareContext, deps: DispatchDeps): string {
  const className = classNameOf(req.resourceUri);
  const cls = className ? deps.classes.get(className) : undefined;
  if (!cls || (cls.since && !versionAtLeast(ctx.nvram.amtVersion, cls.since[0], cls.since[1]))) {
    throw faults.destinationUnreachable();
  }
  // PT Administration (realm 3) covers every class; other realms only their own classes.
  const realms = ctx.auth.realms;
  if (realms !== 'all' && !realms.includes(cls.realm) && !realms.includes(3)) throw faults.accessDenied();
  const resourceUri = resourceUriOf(cls.name);
  const base = { relatesTo: req.messageId, messageId: deps.nextMessageId(), resourceUri };
  const classNs = resourceUri;

  switch (req.action) {
    case ACTIONS.get: {
      const target = selectTarget(cls, ctx, req.selectors);
      return envelope({
        ...base,
        action: `${ACTIONS.get}Response`,
        g: classNs,
        body: instanceXml('g', cls.name, target),
      });
    }
    case ACTIONS.put: {
      if (!cls.put) throw faults.actionNotSupported();
      const target = selectTarget(cls, ctx, req.selectors);
      cls.put(ctx, target, PutInput.of(cls.name, req.body, [...Object.keys(target), ...(cls.writeOnly ?? [])]));
      const updated = selectTarget(cls, ctx, keySelectors(cls, target));
      return envelope({
        ...base,
        action: `${ACTIONS.put}Response`,
        g: classNs,
        body: instanceXml('g', cls.name, updated),
      });
    }
    case ACTIONS.create: {
      if (!cls.create) throw faults.actionNotSupported();
      const keys = cls.create(ctx, PutInput.of(cls.name, req.body, cls.createFields ?? []));
      const body = `<g:ResourceCreated>${eprXml(epr(resourceUri, keys))}</g:ResourceCreated>`;
      return envelope({ ...base, action: `${ACTIONS.create}Response`, g: NS.transfer, body });
    }
    case ACTIONS.delete: {
      if (!cls.delete) throw faults.actionNotSupported();
      cls.delete(ctx, selectTarget(cls, ctx, req.selectors));
      return envelope({ ...base, action: `${ACTIONS.delete}Response`, g: NS.transfer, body: '' });
    }
    case ACTIONS.enumerate: {
      if (req.body?.name !== 'Enumerate') throw faults.schemaValidation();
      const id = deps.enumerations.open(cls.name, cls.instances(ctx));
      if (id === null) throw faults.quotaLimit();
      const body = `<g:EnumerateResponse><g:EnumerationContext>${id}</g:EnumerationContext></g:EnumerateResponse>`;
      return envelope({ ...base, action: `${ACTIONS.enumerate}Response`, g: NS.enumeration, body });
    }
    case ACTIONS.pull: {
      if (req.body?.name !== 'Pull') throw faults.schemaValidation();
      const maxText = childText(req.body, 'MaxElements');
      const max = maxText && /^\d{1,6}$/.test(maxText) && Number(maxText) > 0 ? Number(maxText) : 1;
      const taken = deps.enumerations.take(childText(req.body, 'EnumerationContext') ?? '', cls.name, max);
      if (!taken) throw faults.invalidEnumerationContext();
      const items = taken.items.map((p) => instanceXml('h', cls.name, p)).join('');
      const tail = taken.done
        ? '<g:EndOfSequence></g:EndOfSequence>'
        : `<g:EnumerationContext>${childText(req.body, 'EnumerationContext')}</g:EnumerationContext>`;
      const body = `<g:PullResponse><g:Items>${items}</g:Items>${tail}</g:PullResponse>`;
      return envelope({ ...base, action: `${ACTIONS.pull}Response`, g: NS.enumeration, h: classNs, body });
    }
    case ACTIONS.release: {
      if (!deps.enumerations.release(childText(req.body, 'EnumerationContext') ?? '')) {
        throw faults.invalidEnumerationContext();
      }
      return envelope({ ...base, action: `${ACTIONS.release}Response`, g: NS.enumeration, body: '' });
    }
    default: {
      const prefix = `${resourceUri}/`;
      const method = req.action.startsWith(prefix) ? req.action.slice(prefix.length) : '';
      const handler = cls.methods && Object.hasOwn(cls.methods, method) ? cls.methods[method] : undefined;
      if (!handler) throw faults.actionNotSupported();
      if (req.body && req.body.name !== `${method}_INPUT`) throw faults.schemaValidation();
      // Methods on multi-instance classes (e.g. SetPowerScheme, RequestStateChange) act on the selected one.
      const target =
        req.selectors.size > 0 || cls.instances(ctx).length === 1 ? selectTarget(cls, ctx, req.selectors) : null;
      const result = handler(ctx, new MethodInput(req.body), target);
      return envelope({
        ...base,
        action: `${req.action}Response`,
        g: classNs,
        body: outputXml('g', method, result.out ?? {}, result.returnValue),
      });
    }
  }
}
