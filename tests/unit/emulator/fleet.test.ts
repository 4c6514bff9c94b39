import { expandFleetFile, loopbackAddresses, uuidForAddress } from '../../../emulator/fleet/fleet';
import { FaultRegistry, parseFault, seededRandom } from '../../../emulator/fleet/faults';

describe('fleet helpers', () => {
  it('allocates consecutive loopback addresses skipping .0 and .255', () => {
    const gen = loopbackAddresses('127.20.0.254');
    expect([gen.next().value, gen.next().value, gen.next().value]).toEqual([
      '127.20.0.254',
      '127.20.1.1',
      '127.20.1.2',
    ]);
  });

  it('derives a stable UUID per address', () => {
    expect(uuidForAddress('127.20.0.1')).toBe(uuidForAddress('127.20.0.1'));
    expect(uuidForAddress('127.20.0.1')).not.toBe(uuidForAddress('127.20.0.2'));
    expect(uuidForAddress('127.20.0.1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('expands fleet files and names the bad field', () => {
    const expanded = expandFleetFile({ devices: [{ count: 2, amtVersion: '3.2.1' }, { state: 'post' }] });
    expect(expanded).toHaveLength(3);
    expect(expanded).toMatchObject([{ amtVersion: '3.2.1' }, { amtVersion: '3.2.1' }, { state: 'post' }]);
    expect(() => expandFleetFile({ devices: [{ amtVersion: 'nine' }] })).toThrow(/devices\.0\.amtVersion/);
  });
});

describe('fault registry', () => {
  it('matches by device, operation and count', () => {
    const r = new FaultRegistry();
    r.add(parseFault({ kind: 'http500', target: 'AA', times: 1 }));
    r.add(parseFault({ kind: 'busy', match: 'Put' }));
    r.add(parseFault({ kind: 'rebootDuringCommit' }));
    expect(r.take('bb', 'Get')).toEqual([]);
    expect(r.take('aa', 'Get').map((f) => f.kind)).toEqual(['http500']);
    expect(r.take('aa', 'Get')).toEqual([]);
    expect(r.take('aa', 'Put').map((f) => f.kind)).toEqual(['busy']);
    expect(r.take('aa', 'CommitChanges').map((f) => f.kind)).toEqual(['rebootDuringCommit']);
    expect(r.list()).toHaveLength(2);
    expect(() => parseFault({ kind: 'delay' })).toThrow(/ms/);
  });

  it('applies a fault with a probability to that share of requests, the same ones for the same seed', () => {
    const draws = (seed: number) => {
      const r = new FaultRegistry(seededRandom(seed));
      r.add(parseFault({ kind: 'drop', probability: 0.1 }));
      return Array.from({ length: 2_000 }, () => r.take('aa', 'Get').length);
    };
    const hits = draws(16).reduce((n, hit) => n + hit, 0);
    expect(hits).toBeGreaterThan(150);
    expect(hits).toBeLessThan(250);
    expect(draws(16)).toEqual(draws(16));
    expect(draws(17)).not.toEqual(draws(16));
    expect(() => parseFault({ kind: 'drop', probability: 0 })).toThrow(/probability/);
  });
});
