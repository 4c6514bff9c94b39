import { idempotencyKey, normaliseDeviceUuid, StoreError } from '../../../lib/store';

describe('device UUIDs', () => {
  it.each([
    '8C6E0D4A-3F1B-4B8E-9A51-2F0C7D9E6B13',
    '{8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b13}',
    '8c6e0d4a3f1b4b8e9a512f0c7d9e6b13',
    ' 8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b13 ',
  ])('normalises %p to the lower-case hyphenated form', (input) => {
    expect(normaliseDeviceUuid(input)).toBe('8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b13');
  });

  it.each(['', 'not-a-uuid', '8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b1', '8c6e0d4a-3f1b-4b8e-9a51-2f0c7d9e6b1g'])(
    'refuses %p with a typed error',
    (input) => {
      expect(() => normaliseDeviceUuid(input)).toThrow(
        expect.objectContaining({ name: 'StoreError', code: 'INVALID_INPUT' }) as StoreError,
      );
    },
  );
});

describe('idempotency keys', () => {
  it('join workflow id and step', () => {
    expect(idempotencyKey('provision-8c6e0d4a', 'OOB8.4')).toBe('provision-8c6e0d4a/OOB8.4');
  });
});
