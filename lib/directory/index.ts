export {
  ActiveDirectory,
  withDirectory,
  type AmtAccount,
  type AmtDevice,
  type CheckedDevice,
  type DirectoryPrincipal,
} from './directory';
export { DirectoryError, isDirectoryError, type DirectoryErrorCode } from './errors';
export { type Forest, type ForestDomain } from './forest';
export { amtKerberosSettings, ntHash, type AmtKerberosSettings, type KerberosEncryptionType } from './kerberos';
export { amtSpns } from './names';
export { sidToString } from './sid';
