import { AmtFaultError } from '../../../lib/amt/errors';
import { amtFailure } from '../../support/amt-failure';
import type { AmtSession } from '../../../lib/amt/session';
import { adminSession } from './support';
import { ENUMERATION_LIMITS } from '../../../lib/amt/wsman/client';
import { MAX_RESPONSE_BYTES } from '../../../lib/amt/transport';
import { FIRMWARE_ENUMERATION_LIMITS } from '../../../emulator/wsman/dispatch';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §3 and §4 against the emulator: firmware has few enumeration contexts, so a failed or
 * abandoned enumeration must be released; and a hostile or broken device (endless Pull, a
 * TotalCount of 10⁹, a 3 MB fault reason) gets a bounded, typed error, never an unbounded loop or
 * message.
 */
describe('WS-Man enumeration and hostile devices', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const password = 'Hostile!Dev1ce';

  beforeAll(async () => {
    fleet = await testFleet([{ state: 'post', adminPassword: password, helloEnabled: false }]);
  });
  afterAll(() => fleet.cleanup());
  afterEach(() => fleet.clearFaults());

  const device = () => fleet.devices[0]!;
  const session = (): AmtSession => adminSession(device(), password);

  it('releases the context of a failed Pull, so firmware never runs out of them', async () => {
    const amt = session();
    const rounds = FIRMWARE_ENUMERATION_LIMITS.max + 2;
    fleet.inject({ kind: 'busy', match: 'Pull', times: rounds });
    for (let i = 0; i < rounds; i++) {
      const error = await amtFailure(amt.wsman.client.enumerate('CIM_SoftwareIdentity'));
      expect(error).toMatchObject({ code: 'WSMAN_QUOTA_LIMIT' });
      expect(device().openEnumerations).toBe(0);
    }
    const software = await amt.wsman.client.enumerate('CIM_SoftwareIdentity');
    expect(software.length).toBeGreaterThan(0);
    expect(device().openEnumerations).toBe(0);
  });

  it('stops an endless Pull after its page limit with ENUMERATION_LIMIT_EXCEEDED', async () => {
    fleet.inject({ kind: 'endlessPull', itemBytes: 16 });
    const error = await amtFailure(session().wsman.client.enumerate('AMT_PublicKeyCertificate'));
    expect(error).toMatchObject({
      code: 'ENUMERATION_LIMIT_EXCEEDED',
      message: expect.stringContaining(`no EndOfSequence after ${ENUMERATION_LIMITS.pulls} pulls`),
    });
    // The device handed a new context with every page; the client released the last one, which is
    // the firmware slot the enumeration took: none is left open.
    expect(device().openEnumerations).toBe(0);
  });

  it('stops at its item limit when a device hands out hundreds of items a page', async () => {
    fleet.inject({ kind: 'endlessPull', itemBytes: 16, itemsPerPull: 600 });
    const error = await amtFailure(session().wsman.client.enumerate('AMT_PublicKeyCertificate'));
    expect(error).toMatchObject({
      code: 'ENUMERATION_LIMIT_EXCEEDED',
      message: expect.stringContaining(`more than ${ENUMERATION_LIMITS.items} instances`),
    });
    expect(device().openEnumerations).toBe(0);
  });

  it('cuts off one response over its byte limit with RESPONSE_TOO_LARGE', async () => {
    fleet.inject({ kind: 'hugeFaultReason', bytes: MAX_RESPONSE_BYTES + 1024, times: 1 });
    const error = await amtFailure(session().wsman.client.get('AMT_GeneralSettings'));
    expect(error).toMatchObject({
      code: 'RESPONSE_TOO_LARGE',
      message: expect.stringContaining(`response larger than ${MAX_RESPONSE_BYTES} bytes`),
    });
    expect(error.message.length).toBeLessThan(200);
  });

  it('stops reading Pull responses of a megabyte and more at its byte limit', async () => {
    fleet.inject({ kind: 'endlessPull', itemBytes: 1024 * 1024 });
    const error = await amtFailure(session().wsman.client.enumerate('AMT_PublicKeyCertificate'));
    expect(error).toMatchObject({
      code: 'ENUMERATION_LIMIT_EXCEEDED',
      message: expect.stringContaining(`more than ${ENUMERATION_LIMITS.bytes} bytes`),
    });
    expect(error.message.length).toBeLessThan(400);
  });

  it('refuses a TotalCount of 10⁹ user ACL entries at the first page', async () => {
    fleet.inject({ kind: 'hugeTotalCount', totalCount: 1_000_000_000 });
    const error = await amtFailure(session().wsman.access.listUserAclHandles());
    expect(error).toMatchObject({
      code: 'ENUMERATION_LIMIT_EXCEEDED',
      message: expect.stringContaining('reports 1000000000 entries'),
    });
    expect(fleet.faults()).toHaveLength(1);
  });

  it('keeps a 3 MB fault reason out of the error, saying how much was cut', async () => {
    fleet.inject({ kind: 'hugeFaultReason', bytes: 3 * 1024 * 1024, times: 1 });
    const error = await amtFailure(session().wsman.client.get('AMT_GeneralSettings'));
    expect(error).toBeInstanceOf(AmtFaultError);
    expect(error).toMatchObject({ code: 'WSMAN_INTERNAL_ERROR' });
    expect(error.message.length).toBeLessThan(600);
    expect(error.message).toMatch(/more characters\)$/);
    expect(JSON.stringify(error.toJSON()).length).toBeLessThan(800);
  });
});
