/** The probe flow once T3 was added behind its patch (tests/support/patch-probe.ts). */
import { patchProbeFlow } from './patch-probe';

export async function patchProbe(deviceUuid: string): Promise<void> {
  return patchProbeFlow(deviceUuid, true);
}
