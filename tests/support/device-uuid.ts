import { randomUUID } from 'node:crypto';
import { parseDeviceUuid, type DeviceUuid } from '../../lib/device-uuid';

/** A fresh device UUID, canonical as the front doors hand it on. */
export function newDeviceUuid(): DeviceUuid {
  return parseDeviceUuid(randomUUID());
}
