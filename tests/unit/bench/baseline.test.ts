import type { LifecycleActivities } from '../../../activities/contract';
import { pool, runStep } from '../../../bench/baseline';
import { VALIDATE } from '../../../workflows/catalogue';

describe('the baseline loop', () => {
  it('keeps at most `concurrency` devices in flight and reports each outcome', async () => {
    let inFlight = 0;
    let most = 0;
    const outcomes = await pool([1, 2, 3, 4, 5], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight--;
      if (n === 3) throw new Error('device 3 failed');
      return n * 10;
    });
    expect(most).toBe(2);
    expect(outcomes.map((o) => o.item).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(outcomes.find((o) => o.item === 3)?.error?.message).toBe('device 3 failed');
    expect(outcomes.find((o) => o.item === 5)?.result).toBe(50);
  });

  it('calls the activity the catalogue names and ends a validation step at its first failure, naming the step', async () => {
    let calls = 0;
    const activities = {
      probeAmtVersion: async () => {
        calls++;
        throw new Error('no answer');
      },
    } as unknown as LifecycleActivities;
    await expect(runStep(activities, VALIDATE.version, { deviceUuid: 'x' } as never)).rejects.toThrow(
      `${VALIDATE.version.id} ${VALIDATE.version.title}: no answer`,
    );
    expect(calls).toBe(1);
  });
});
