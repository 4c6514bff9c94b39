import { checkInvariants, InvariantError, sameSerial, type DeviceEvidence } from '../../../bench/invariants';

const SPNS = ['HTTP/amt-1.corp.example.test:16992', 'HTTP/amt-1.corp.example.test:16993'];

function healthy(overrides: Partial<DeviceEvidence> = {}): DeviceEvidence {
  return {
    uuid: 'u1',
    fqdn: 'amt-1.corp.example.test',
    adminPassword: 'authenticates',
    certificates: [
      { serial: '0A1B', template: 'amt-web-server', status: 'issued' },
      { serial: '77', template: 'amt-web-server', status: 'revoked' },
    ],
    presentedSerial: 'a1b',
    directoryObjects: [{ dn: 'CN=amt-1,OU=AMT Devices,DC=corp', spns: SPNS.map((s) => s.toUpperCase()) }],
    expectedSpns: SPNS,
    ...overrides,
  };
}

const problems = (d: DeviceEvidence) => checkInvariants([d]).map((v) => `${v.invariant}: ${v.problem}`);

describe('the benchmark invariants', () => {
  it('hold for a provisioned device (serials and SPNs compared without regard to case or leading zeros)', () => {
    expect(checkInvariants([healthy()])).toEqual([]);
    expect(sameSerial('00:0A:1B', 'a1b')).toBe(true);
  });

  it.each([
    ['rejected', /admin-password: .*does not authenticate \(rejected\)/],
    ['missing', /admin-password: .*\(missing\)/],
    [{ error: 'ECONNRESET' }, /admin-password: .*login failed: ECONNRESET/],
  ] as const)('break when the stored admin password is %j', (adminPassword, message) => {
    expect(problems(healthy({ adminPassword }))).toEqual([expect.stringMatching(message)]);
  });

  it('break when an issued certificate is neither installed nor revoked', () => {
    const d = healthy({
      certificates: [...healthy().certificates, { serial: 'BEEF', template: 'amt-web-server', status: 'issued' }],
    });
    expect(problems(d)).toEqual([
      'certificate: certificate BEEF (amt-web-server) is issued but neither installed nor revoked',
    ]);
  });

  it('break when the device presents a certificate never recorded, or one recorded as revoked', () => {
    expect(problems(healthy({ presentedSerial: 'CAFE' }))).toEqual([
      'certificate: the device presents certificate CAFE, which the site database never recorded',
      'certificate: certificate 0A1B (amt-web-server) is issued but neither installed nor revoked',
    ]);
    expect(problems(healthy({ presentedSerial: '77' }))[0]).toBe(
      'certificate: the device presents certificate 77, recorded as revoked',
    );
    expect(problems(healthy({ presentedSerial: undefined }))[0]).toBe(
      'certificate: the device presents no TLS certificate',
    );
  });

  it('break on zero or two directory objects, and on a missing or extra SPN', () => {
    expect(problems(healthy({ directoryObjects: [] }))).toEqual([
      'directory: 0 directory objects for amt-1.corp.example.test, expected exactly one',
    ]);
    const two = healthy().directoryObjects.concat({ dn: 'CN=amt-1,CN=Computers,DC=corp', spns: SPNS });
    expect(problems(healthy({ directoryObjects: two }))).toEqual([
      'directory: 2 directory objects for amt-1.corp.example.test, expected exactly one',
    ]);
    const oneSpn = [{ dn: 'CN=amt-1', spns: [SPNS[0] as string, 'HOST/amt-1'] }];
    expect(problems(healthy({ directoryObjects: oneSpn }))).toEqual([
      'directory: CN=amt-1 lacks SPN http/amt-1.corp.example.test:16993',
      'directory: CN=amt-1 carries unexpected SPN host/amt-1',
    ]);
  });

  it('name every violation of every device in the error that ends the run', () => {
    const violations = checkInvariants([
      healthy(),
      healthy({ uuid: 'u2', adminPassword: 'rejected', directoryObjects: [] }),
    ]);
    const err = new InvariantError(violations);
    expect(err.code).toBe('BENCH_INVARIANT_BROKEN');
    expect(err.message).toMatch(/^2 invariant violation\(s\):\n {2}- u2 \[admin-password\].*\n {2}- u2 \[directory\]/);
  });
});
