// Every workflow type the lifecycle worker registers.
export { systemCheck } from './system-check';
export { provisionDevice } from './provision-device';
export { updateManagementController } from './update-management-controller';
export { removeProvisioning } from './remove-provisioning';
export { renameOrMoveDevice } from './rename-or-move-device';
export { renewDeviceCertificate } from './renew-device-certificate';
export { rotateAdminPassword } from './rotate-admin-password';
export { forgetDevice } from './forget-device';
export { collectionAction } from './collection-action';
export { discoverManagementControllers } from './discover-management-controllers';
export { controlDevicePower, powerCollection } from './power';
