import { createPacer } from '../../../lib/hello/pacer';

/** A clock that only moves when a caller sleeps, so the test reads the schedule the pacer made. */
function manualClock() {
  let now = 1_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    advance: (ms: number) => (now += ms),
    sleep: async (ms: number) => {
      slept.push(ms);
    },
  };
}

describe('hello pacer', () => {
  it('lets an idle caller through at once and spaces a burst evenly, in call order', async () => {
    const clock = manualClock();
    const pace = createPacer(20, clock);
    await Promise.all([pace(), pace(), pace(), pace()]);
    // 20 per second: the first at once, the others 50, 100 and 150 ms later.
    expect(clock.slept).toEqual([50, 100, 150]);
  });

  it('does not bank idle time: after a quiet spell the next burst is spaced again', async () => {
    const clock = manualClock();
    const pace = createPacer(4, clock);
    await pace();
    clock.advance(10_000);
    await Promise.all([pace(), pace()]);
    expect(clock.slept).toEqual([250]);
  });

  it('waits only for what is left of the spacing when time has passed since the last call', async () => {
    const clock = manualClock();
    const pace = createPacer(10, clock);
    await pace();
    clock.advance(60);
    await pace();
    expect(clock.slept).toEqual([40]);
  });

  it('gives up a wait when its signal is aborted, with the signal’s reason', async () => {
    const pace = createPacer(0.001);
    const abort = new AbortController();
    await pace(abort.signal);
    const waiting = pace(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await expect(pace(abort.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => createPacer(0)).toThrow('perSecond must be a positive number, not 0');
    expect(() => createPacer(Number.NaN)).toThrow(RangeError);
  });
});
