/** The probe flow as it was before T3 was added (tests/support/patch-probe.ts). */
import { patchProbeFlow } from './patch-probe';

export async function patchProbe(deviceUuid: string): Promise<void> {
  return patchProbeFlow(deviceUuid, false);
}
