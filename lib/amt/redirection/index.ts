/**
 * AMT redirection (ports 16994/16995): serial over LAN and IDE redirection sessions, written from
 * the protocol (console reference §1–§2). See docs/amt-client.md "Redirection".
 */
export { AMT_REDIRECTION_PORT, AMT_REDIRECTION_TLS_PORT, type SessionKind } from './messages';
export { AmtRedirectionError, type RedirectionErrorCode } from './errors';
export { type RedirectionOptions } from './handshake';
export { SolSession, type SolOptions } from './sol';
export { IderSession, type IderOptions, type IderStartMode, type IderStats } from './ider';
export {
  answerPacket,
  BLOCK_SIZE,
  SENSE,
  type AtapiAnswer,
  type DriveKind,
  type ImageReader,
  type Sense,
} from './atapi';
