import path from 'node:path';
import { sourceOf, summarise, type CpuProfile } from '../../../bench/cpu-profile';

const ROOT = '/repo';
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('CPU profile summary', () => {
  it('names where code comes from: our files, npm packages, Node, V8', () => {
    expect(sourceOf('file:///repo/lib/amt/transport.ts', 'connect', ROOT)).toBe(
      path.join('lib', 'amt', 'transport.ts'),
    );
    expect(sourceOf('file:///repo/node_modules/@temporalio/worker/lib/x.js', 'f', ROOT)).toBe('pkg:@temporalio/worker');
    expect(sourceOf('/repo/node_modules/node-forge/lib/rsa.js', 'f', ROOT)).toBe('pkg:node-forge');
    expect(sourceOf('node:internal/tls/secure-context', 'f', ROOT)).toBe('node:internal/tls/secure-context');
    expect(sourceOf('', '(garbage collector)', ROOT)).toBe('(garbage collector)');
    expect(sourceOf('', 'createSecureContext', ROOT)).toBe('(native)');
  });

  it('adds self time per function and per source over several profiles, idle left out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('sign', 'file:///repo/node_modules/node-forge/lib/rsa.js', 9) },
        { id: 4, callFrame: frame('connect', 'file:///repo/lib/amt/transport.ts', 40) },
      ],
      startTime: 0,
      // samples at 0, 1000, 4000, 6000 µs; the profile ends at 10000 µs
      samples: [3, 2, 4, 3],
      timeDeltas: [0, 1000, 3000, 2000],
      endTime: 10_000,
    };
    const s = summarise([profile, profile], ROOT);
    expect(s.idleMs).toBe(6);
    expect(s.busyMs).toBe(14);
    expect(s.byFunction).toEqual([
      { name: 'sign pkg:node-forge:10', ms: 10 },
      { name: `connect ${path.join('lib', 'amt', 'transport.ts')}:41`, ms: 4 },
    ]);
    expect(s.bySource.map((r) => r.name)).toEqual(['pkg:node-forge', path.join('lib', 'amt', 'transport.ts')]);
  });
});
