import { z } from 'zod';
import { EmulatorError } from '../errors';

/**
 * Faults injected at runtime, fleet-wide or per device, through the library API or the admin API.
 * A fault applies to authenticated requests on the device ports whose operation (the last segment
 * of the WS-Man Action, e.g. `Get`, `CommitChanges`, or the EOI operation name) matches `match`
 * when given, at most `times` times when given, and to each such request with `probability` when
 * given (drawn from the fleet's seeded generator, so a seed replays the same draws).
 */
const common = {
  /** Device UUID; absent = every device. */
  target: z.string().optional(),
  match: z.string().min(1).max(128).optional(),
  times: z.number().int().positive().optional(),
  probability: z.number().gt(0).max(1).optional(),
};

export const faultSchema = z.discriminatedUnion('kind', [
  /** Answer late. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(120_000), ...common }).strict(),
  /** Close the connection without answering. */
  z.object({ kind: z.literal('drop'), ...common }).strict(),
  /** Answer HTTP 500. */
  z.object({ kind: z.literal('http500'), ...common }).strict(),
  /** Firmware busy: WS-Man QuotaLimit fault / EOI PT_STATUS_NOT_READY. */
  z.object({ kind: z.literal('busy'), ...common }).strict(),
  /**
   * Reboot in the middle of CommitChanges: the connection drops without an answer and the device
   * is unreachable for `rebootMs`; `applied` says whether the commit reached NVRAM first.
   */
  z
    .object({
      kind: z.literal('rebootDuringCommit'),
      applied: z.boolean().default(true),
      rebootMs: z.number().int().min(0).max(600_000).default(1000),
      ...common,
    })
    .strict(),
  /** The firmware answers success but the NVRAM write is lost (state as before the request). */
  z.object({ kind: z.literal('lostWrite'), ...common }).strict(),
  /**
   * The host refuses a power change the firmware would accept (e.g. the first power-on, for retry
   * tests): the request is answered with `returnValue` (CIM ReturnValue over WS-Man, PT_STATUS over
   * EOI) and nothing changes. Applies to power requests only, never to other operations.
   */
  z
    .object({
      kind: z.literal('powerRefused'),
      change: z
        .enum(['on', 'off', 'cycle', 'reset', 'sleep', 'hibernate', 'graceful-off', 'graceful-reset', 'any'])
        .default('on'),
      returnValue: z.number().int().min(1).max(0xffffffff).default(2),
      ...common,
    })
    .strict(),
  /**
   * A hostile or broken device (issue 12 §4): every Pull answers `itemsPerPull` items of `itemBytes`
   * and a new enumeration context, never EndOfSequence. The new context takes the place of the one
   * pulled (its firmware slot stays taken until it is released or expires).
   */
  z
    .object({
      kind: z.literal('endlessPull'),
      itemBytes: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024 * 1024)
        .default(64 * 1024),
      itemsPerPull: z.number().int().min(1).max(10_000).default(1),
      ...common,
    })
    .strict(),
  /** EnumerateUserAclEntries reports `totalCount` entries and hands out 50 made-up handles per page, forever. */
  z
    .object({
      kind: z.literal('hugeTotalCount'),
      totalCount: z.number().int().min(0).max(0xffffffff).default(1_000_000_000),
      ...common,
    })
    .strict(),
  /** A WS-Man fault whose Reason text is `bytes` long (3 MiB by default). */
  z
    .object({
      kind: z.literal('hugeFaultReason'),
      bytes: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024 * 1024)
        .default(3 * 1024 * 1024),
      ...common,
    })
    .strict(),
]);

/** The faults that only make sense for one operation, and that operation. */
const ONLY_FOR: Partial<Record<Fault['kind'], string>> = {
  rebootDuringCommit: 'CommitChanges',
  endlessPull: 'Pull',
  hugeTotalCount: 'EnumerateUserAclEntries',
};

export type FaultInput = z.input<typeof faultSchema>;
export type Fault = z.output<typeof faultSchema>;
export type ActiveFault = Fault & { id: string };

export function parseFault(input: unknown): Fault {
  const parsed = faultSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EmulatorError('INVALID_FAULT', `${issue?.path.join('.') || 'fault'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Mulberry32: a small seeded generator of numbers in [0, 1). Chaos tests print their seed; the same
 * seed draws the same sequence (which request it lands on still depends on the order requests come).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultRegistry {
  private readonly faults = new Map<string, ActiveFault & { remaining: number }>();
  private counter = 0;

  constructor(private readonly random: () => number = Math.random) {}

  add(fault: Fault): ActiveFault {
    const id = `f${++this.counter}`;
    const active = { ...fault, id };
    this.faults.set(id, { ...active, remaining: fault.times ?? Infinity });
    return active;
  }

  list(): ActiveFault[] {
    return [...this.faults.values()].map(({ remaining: _r, ...f }) => f);
  }

  remove(id: string): boolean {
    return this.faults.delete(id);
  }

  clear(): void {
    this.faults.clear();
  }

  /** Consumes and returns the faults that apply to this request (at most one per kind). */
  take(uuid: string, operation: string): Fault[] {
    const out: Fault[] = [];
    for (const [id, f] of this.faults) {
      if (f.target !== undefined && f.target.toLowerCase() !== uuid) continue;
      if (f.match !== undefined && f.match !== operation) continue;
      if (f.kind === 'powerRefused') continue;
      const only = ONLY_FOR[f.kind];
      if (only !== undefined && operation !== only) continue;
      if (out.some((o) => o.kind === f.kind)) continue;
      if (f.probability !== undefined && this.random() >= f.probability) continue;
      f.remaining -= 1;
      if (f.remaining <= 0) this.faults.delete(id);
      const { remaining: _r, id: _id, ...fault } = f;
      out.push(fault);
    }
    return out;
  }

  /** Consumes a `powerRefused` fault for this power change, returning the value to answer with. */
  takePowerRefusal(uuid: string, change: string): number | null {
    for (const [id, f] of this.faults) {
      if (f.kind !== 'powerRefused') continue;
      if (f.target !== undefined && f.target.toLowerCase() !== uuid) continue;
      if (f.change !== 'any' && f.change !== change) continue;
      if (f.probability !== undefined && this.random() >= f.probability) continue;
      f.remaining -= 1;
      if (f.remaining <= 0) this.faults.delete(id);
      return f.returnValue;
    }
    return null;
  }
}
