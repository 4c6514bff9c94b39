/**
 * amtflow's Intel AMT client: transport (HTTP/TLS), Digest login with credential fallback,
 * WS-Management over a typed class catalogue, legacy EOI SOAP, typed errors. No Temporal here.
 * See docs/amt-client.md.
 */
export * from './errors';
export { withAmtCancellation } from './cancellation';
export { returnValueCode, checkReturnValue, type ReturnSpace } from './return-values';
export { escapeXml } from './xml';
export { digestHa1, digestResponse, parseDigestChallenge, type DigestChallenge } from './digest';
export {
  AMT_HTTP_PORT,
  AMT_TLS_PORT,
  AMT_TLS_SECURE_OPTIONS,
  amtTlsProtocolOptions,
  tlsHandshakeError,
  type AmtEndpoint,
  type AmtTimeouts,
  type AmtTlsOptions,
  type ProvisioningTls,
  type VerifiedTls,
} from './transport';
export { AmtHttpClient, type AmtCredential } from './http-client';
export { CATALOGUE, resourceUri, type ClassName, type MethodName } from './wsman/catalogue';
export {
  embedded,
  ref,
  type EmbeddedInstance,
  type EndpointReference,
  type Selectors,
  type WsmanInstance,
  type WsmanValue,
} from './wsman/envelope';
export { WsmanClient, type MethodArguments } from './wsman/client';
export { REMOVE, type PutChanges } from './wsman/properties';
export * from './wsman/device';
export * from './wsman/access';
export * from './wsman/certificates';
export * from './wsman/features';
export * from './wsman/network';
export { EOI_SERVICES, EoiClient, el, type EoiElement, type EoiService } from './eoi/client';
export { EOI_REALM_NAMES, EoiOperations, REMOTE_CONTROL_COMMANDS } from './eoi/operations';
export * from './setup';
export * from './power';
export * from './session';
export * from './tls-handshake';
export * from './vocabulary';
export * from './redirection';
export * from './discovery';
