import type pino from 'pino';
import { isPlaceholderUuid } from '../lib/device-uuid';
import type { Hello } from '../lib/hello/parse';
import type { HelloListenerOptions } from '../lib/hello/listener';
import type { Device, Store } from '../lib/store';
import { createPacer, type Pacer } from '../lib/hello/pacer';
import { runInFlight } from '../runtime/lifecycle-client';
import { provisionAutomatically, type AutomaticProvisioningDeps } from './automatic-provisioning';

export interface HelloServiceDeps extends Omit<AutomaticProvisioningDeps, 'store'> {
  store: Pick<Store, 'devices' | 'contacts' | 'audit'>;
  logger: pino.Logger;
  /**
   * Hellos handled at once (default 64, at least 1), so a flood of hellos costs bounded database
   * and Temporal work at any moment. More wait their turn in arrival order, one per device and
   * source address.
   */
  maxConcurrent?: number;
  /**
   * Hellos waiting for their turn (default 10,000: about 50 MB were every one the largest hello, 23
   * SHA-512 hashes); one beyond it is dropped and logged (the firmware sends again, OOB1). A hello is
   * not dropped merely because others are in hand: devices that power on together say hello together,
   * on the same schedule after that (AMT: every minute, then every five, then hourly), so dropping the
   * wave's excess would drop the same late devices every time, for up to an hour (found by `npm run
   * bench` at 1,000 devices).
   */
  maxQueued?: number;
  /**
   * Hellos of imported devices handled per second at most, across all hands (default 20: 1,200 runs
   * started a minute, well above what a worker takes up); the pace is taken after the checks that
   * need no more than a database read, so hellos naming no imported device cannot use it up. A wave
   * of devices powered on together would otherwise start runs as fast as Temporal takes them: at 60
   * a second the server answered the workers' workflow task heartbeats late, and every run whose
   * task timed out waited behind the whole wave (docs/operations.md, "A wave of hellos").
   */
  maxPerSecond?: number;
  /** The pace itself (tests): by default `createPacer(maxPerSecond)`. */
  pace?: Pacer;
}

type HelloOutcome =
  | { handled: false; reason: string }
  | { handled: true; provisioning: Awaited<ReturnType<typeof provisionAutomatically>> };

/** Node reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`; amtflow dials the IPv4 address. */
function plainAddress(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * Whether amtflow's own records say the firmware is provisioned: the device is `provisioned`, or a
 * run of amtflow's failed after the firmware was (an abort after the commit leaves it `failed` with
 * AMT status `provisioned` — abort matrix, docs/architecture.md — and so does an update that
 * failed). A hello cannot come from such firmware, so it is treated like one for a provisioned
 * device, never as a start. A discovery status alone does not count: it is only as fresh as the
 * last sweep, and a device another tool provisioned and then reset says hello to be provisioned
 * (OOB1).
 */
function recordedProvisioned(device: Pick<Device, 'provisioningState' | 'discoveryStatus'>): boolean {
  return (
    device.provisioningState === 'provisioned' ||
    (device.provisioningState === 'failed' && device.discoveryStatus === 'provisioned')
  );
}

/** Who the audit names for what a hello did: the listener, on the device's (unauthenticated) word. */
const HELLO_ACTOR = 'hello-listener';

/**
 * The hello service behind `startHelloListener` (spec OOB1, OOB2, IB7, DEP3): decides what a
 * well-formed hello leads to. Every hello ends in a log line saying what became of it (one that
 * waits its turn first says so); hellos carry no secret, and nothing here puts one in a log or an
 * error.
 *
 * A hello is an unauthenticated TCP message (issue 9), so it may only ever do what anyone on the
 * network may: placeholder UUIDs (all zeros, all F) name no one computer and are refused; a hello
 * from another address than the device's while its run is in flight is recorded as a conflict and
 * audited, never used (the device is DUPLICATE_UUID and its run parks before it sends anything);
 * a hello for a device amtflow records as provisioned is audited and starts nothing — re-provisioning
 * it is an operator's decision.
 */
export function createHelloService(deps: HelloServiceDeps) {
  const maxConcurrent = deps.maxConcurrent ?? 64;
  const maxQueued = deps.maxQueued ?? 10_000;
  if (!(maxConcurrent >= 1)) throw new RangeError(`maxConcurrent must be at least 1, not ${maxConcurrent}`);
  const maxPerSecond = deps.maxPerSecond ?? 20;
  if (!(maxPerSecond > 0)) throw new RangeError(`maxPerSecond must be a positive number, not ${maxPerSecond}`);
  const pace = deps.pace ?? createPacer(maxPerSecond);
  // Aborted by close(): a hand waiting for its turn lets its hello go at once.
  const closing = new AbortController();
  // Devices whose hello is being handled: a repeated hello meanwhile has nothing to add.
  const busy = new Set<string>();
  // Hellos waiting for a free hand, oldest first (a Map keeps insertion order), keyed by device and
  // source address: a newer hello from the same address takes the older one's place and turn; one
  // from another address (an impostor, or the device moved) waits beside it, so that its turn meets
  // the conflict check of `handle` instead of silently replacing the device's own hello (issue 9).
  const queued = new Map<string, { hello: Hello; remoteAddress: string }>();
  const queueKey = (hello: Hello, remoteAddress: string) => `${hello.uuid} ${plainAddress(remoteAddress)}`;
  let closed = false;

  async function handle(hello: Hello, remoteAddress: string): Promise<HelloOutcome> {
    const { uuid } = hello;
    const host = plainAddress(remoteAddress);
    if (isPlaceholderUuid(uuid)) {
      return { handled: false, reason: `PLACEHOLDER_DEVICE_UUID: ${uuid} is shared by many computers` };
    }
    // OOB2: only imported computers are provisioned.
    const device = await deps.store.devices.get(uuid);
    if (!device) return { handled: false, reason: 'unknown UUID (not imported)' };
    // Everything after this reaches Temporal or writes: at `maxPerSecond`. Closed while it waited for
    // its turn, the hello goes like the waiting ones (the device sends again).
    const turn = await pace(closing.signal).then(
      () => true,
      () => false,
    );
    if (!turn) return { handled: false, reason: 'the hello service closed before its turn' };
    const contact = await deps.store.contacts.get(uuid);
    const audit = (action: string, details: Record<string, unknown>) =>
      deps.store.audit.append({
        actor: HELLO_ACTOR,
        action,
        target: uuid,
        outcome: 'denied',
        details: { host, fqdn: device.fqdn, ...details },
      });
    const inFlight = await runInFlight(deps.client, uuid);
    if (inFlight && contact && contact.host !== host) {
      await deps.store.contacts.recordConflict(uuid, {
        host,
        knownHost: contact.host,
        source: 'hello',
        workflowId: inFlight.workflowId,
      });
      await audit('hello.duplicate-uuid', { knownHost: contact.host, workflowId: inFlight.workflowId });
      return {
        handled: false,
        reason: `DUPLICATE_UUID: ${contact.host} is the address of the ${inFlight.operation} run in flight; the run parks for an operator`,
      };
    }
    // IB7: the client is installed, so provisioning is in band; the agent's wired address stays the
    // one amtflow dials (IB2), which is why the hello is not even recorded as a contact. One from
    // another address while a run is in flight was kept as a conflict above, as out of band.
    if (contact?.source === 'agent') {
      return { handled: false, reason: 'the in-band agent reported for this device (IB7)' };
    }
    if (!inFlight && recordedProvisioned(device)) {
      // Recorded where it changes nothing: the count of a known address, the audit otherwise.
      if (contact?.host === host) await deps.store.contacts.recordHello(uuid, { host });
      await audit('hello.provisioned-device', { knownHost: contact?.host ?? null });
      return {
        handled: false,
        reason: 'the device is recorded as provisioned: re-provisioning it needs an operator action',
      };
    }
    await deps.store.contacts.recordHello(uuid, {
      host,
      rootHashes: hello.rootHashes,
      adminCredentialsSet: hello.adminCredentialsSet,
    });
    if (hello.version === 2) {
      return { handled: false, reason: 'PSK hello (version 2): amtflow provisions with certificates only (PKI)' };
    }
    return { handled: true, provisioning: await provisionAutomatically(deps, uuid, 'out-of-band', 'hello') };
  }

  const contextOf = (hello: Hello, remoteAddress: string) => ({
    uuid: hello.uuid,
    remoteAddress,
    retryCount: hello.retryCount,
  });

  /**
   * Handles one hello, then the oldest waiting one, until none waits. A waiting hello whose device
   * is in hand is skipped: the hand that holds the device takes it when it lets the device go.
   */
  async function work(hello: Hello, remoteAddress: string): Promise<void> {
    for (let next: { hello: Hello; remoteAddress: string } | undefined = { hello, remoteAddress }; next;) {
      const { uuid } = next.hello;
      busy.add(uuid);
      // handleLogged catches every failure of the handling; only its logger could throw, and that
      // must not leave the waiting hellos without a hand.
      await handleLogged(next.hello, next.remoteAddress).catch(() => undefined);
      busy.delete(uuid);
      next = closed ? undefined : takeNext();
    }
  }

  /** The oldest waiting hello whose device is not in hand. */
  function takeNext(): { hello: Hello; remoteAddress: string } | undefined {
    for (const [key, entry] of queued) {
      if (busy.has(entry.hello.uuid)) continue;
      queued.delete(key);
      return entry;
    }
    return undefined;
  }

  async function handleLogged(hello: Hello, remoteAddress: string): Promise<void> {
    const context = contextOf(hello, remoteAddress);
    try {
      const outcome = await handle(hello, remoteAddress);
      if (!outcome.handled) deps.logger.info(context, `hello discarded: ${outcome.reason}`);
      else if (outcome.provisioning.status === 'started')
        deps.logger.info({ ...context, workflowId: outcome.provisioning.workflowId }, 'hello started provisioning');
      else if (outcome.provisioning.status === 'in-flight')
        deps.logger.debug({ ...context, ...outcome.provisioning }, 'hello: the device already has a run in flight');
      else deps.logger.info(context, 'hello recorded; automatic provisioning is off for this device');
    } catch (err) {
      // Store and Temporal errors name devices and ids, never secrets; the device sends again.
      deps.logger.warn({ ...context, err: (err as Error).message }, 'hello could not be handled');
    }
  }

  const handlers: Pick<HelloListenerOptions, 'onHello' | 'onRejected'> & { close(): void } = {
    /** Resolves once this hello is waiting or dropped, or handled with whatever this hand took after it. */
    async onHello(hello, remoteAddress) {
      const context = contextOf(hello, remoteAddress);
      if (closed) return deps.logger.debug(context, 'hello discarded: the hello service is closed');
      if (busy.has(hello.uuid)) return deps.logger.debug(context, 'hello discarded: one from this device is in hand');
      if (busy.size >= maxConcurrent) {
        const key = queueKey(hello, remoteAddress);
        if (queued.has(key)) deps.logger.debug(context, 'hello replaces the one from this device still waiting');
        else if (queued.size >= maxQueued) return deps.logger.warn(context, 'hello discarded: too many hellos waiting');
        queued.set(key, { hello, remoteAddress });
        return deps.logger.debug(context, 'hello waits for its turn');
      }
      await work(hello, remoteAddress);
    },
    /**
     * Stops taking hellos: the waiting ones are dropped (their devices send again, OOB1), and so is a
     * hand's that still waits for its turn (`maxPerSecond`), logged as discarded; the hands finish the
     * hello they are handling, so nothing reaches the store or Temporal after its owner closes them.
     */
    close() {
      closed = true;
      queued.clear();
      closing.abort();
    },
    onRejected(remoteAddress, reason) {
      deps.logger.info({ remoteAddress }, `hello rejected: ${reason}`);
    },
  };
  return handlers;
}
