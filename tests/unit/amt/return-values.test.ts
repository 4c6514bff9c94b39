import { AmtError, AmtReturnValueError, AmtTimeoutError } from '../../../lib/amt/errors';
import { checkReturnValue, returnValueCode } from '../../../lib/amt/return-values';

describe('return values', () => {
  it('names PT_STATUS codes as the reference does', () => {
    expect(returnValueCode('pt', 3)).toBe('PT_STATUS_INVALID_PT_MODE');
    expect(returnValueCode('pt', 2)).toBe('PT_STATUS_NOT_READY');
    expect(returnValueCode('pt', 0x820)).toBe('PT_STATUS_UNKNOWN');
    expect(returnValueCode('pt', 2082)).toBe('PT_STATUS_OPERATION_IN_PROGRESS');
    expect(returnValueCode('state-change', 4097)).toBe('STATE_CHANGE_INVALID_STATE_TRANSITION');
  });

  it('throws a rejected, typed error for a non-zero value and marks busy states transient', () => {
    const invalidMode = (): void => checkReturnValue('pt', 3, 'AMT_SetupAndConfigurationService.CommitChanges');
    expect(invalidMode).toThrow(AmtReturnValueError);
    expect(invalidMode).toThrow(
      'AMT_SetupAndConfigurationService.CommitChanges returned 3 (PT_STATUS_INVALID_PT_MODE)',
    );
    expect(() => checkReturnValue('pt', 47, 'GenerateKeyPair')).toThrow(
      expect.objectContaining({ code: 'PT_STATUS_RNG_GENERATION_IN_PROGRESS', outcome: 'rejected', transient: true }),
    );
    expect(() => checkReturnValue('state-change', 4099, 'RequestStateChange')).toThrow(
      expect.objectContaining({ code: 'STATE_CHANGE_BUSY', transient: true }),
    );
  });

  it('accepts 0, and JOB_STARTED for state changes', () => {
    expect(() => checkReturnValue('pt', 0, 'x')).not.toThrow();
    expect(() => checkReturnValue('state-change', 4096, 'x')).not.toThrow();
    expect(() => checkReturnValue('pt', 4096, 'x')).toThrow(AmtError);
  });

  it('serialises errors as plain data and tells whether a one-shot call must verify first', () => {
    const timeout = new AmtTimeoutError('response', 500, 'http://10.0.0.1:16992');
    expect(timeout.toJSON()).toEqual({
      name: 'AmtTimeoutError',
      code: 'RESPONSE_TIMEOUT',
      outcome: 'unknown',
      transient: true,
      message: 'http://10.0.0.1:16992: no complete response within 500 ms',
    });
    expect(timeout.mayHaveTakenEffect).toBe(true);
    expect(new AmtTimeoutError('connect', 500, 'x').mayHaveTakenEffect).toBe(false);
  });
});
