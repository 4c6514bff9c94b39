import { assertProvisionableAmtVersion, isOlderAmtVersion, ProvisioningError } from '../../../lib/provisioning';

describe('P2: the oldest AMT release amtflow provisions is 3.2.1', () => {
  it.each([
    ['2.6.3.1020', true],
    ['3.2.0', true],
    ['3.2', true],
    ['3.2.1', false],
    ['3.2.1.1010', false],
    ['3.10.0', false],
    ['5.2.70', false],
    ['11.8.50.3425', false],
  ])('%s is older: %s', (version, older) => {
    expect(isOlderAmtVersion(version, '3.2.1')).toBe(older);
  });

  it('refuses an older release with the final AMT_VERSION_UNSUPPORTED, naming device and release', () => {
    expect(() => assertProvisionableAmtVersion('2.6.3.1020', 'amt-1.corp.example.test')).toThrow(
      expect.objectContaining({ code: 'AMT_VERSION_UNSUPPORTED', message: expect.stringContaining('2.6.3.1020') }),
    );
    expect(() => assertProvisionableAmtVersion('2.6.3', 'x')).toThrow(ProvisioningError);
    expect(() => assertProvisionableAmtVersion('3.2.1', 'x')).not.toThrow();
  });
});
