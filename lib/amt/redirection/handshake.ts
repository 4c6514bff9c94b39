import { randomBytes } from 'node:crypto';
import { digestResponse } from '../digest';
import { AmtAuthError, AmtConnectionError } from '../errors';
import type { AmtCredential } from '../http-client';
import { validateEndpoint, type AmtTimeouts, type AmtTlsOptions } from '../transport';
import { RedirectionChannel } from './channel';
import { AmtRedirectionError } from './errors';
import {
  AMT_REDIRECTION_PORT,
  AMT_REDIRECTION_TLS_PORT,
  AUTH,
  REDIRECTION,
  SESSION_TYPE,
  START_STATUS,
  lengthPrefixed,
  readLengthPrefixed,
  type SessionKind,
} from './messages';

/** Where and as whom to open a redirection session. */
export interface RedirectionOptions {
  host: string;
  /** Default 16995 with TLS, 16994 without. */
  port?: number;
  /** The device's TLS (as for WS-Management on 16993); plain TCP without. */
  tls?: AmtTlsOptions;
  /** The login: the admin account or a Digest user with the redirection realm. Named by `ref` only. */
  credential: AmtCredential;
  /** `connectMs` for TCP + TLS, `responseMs` for every answer the console waits for. */
  timeouts: AmtTimeouts;
}

/** The URI redirection digests are computed over (amtterm `auth.c`, MeshCommander). */
const DIGEST_URI = '/RedirectionService';
/** Nonce count as amtterm and MeshCommander send it. */
const DIGEST_NC = '00000002';
/** Preference among offered methods: RFC 2617 digest, digest without qop, plain (amtterm ≥ 1.7, MeshCentral). */
const PREFERENCE = [AUTH.DIGEST, AUTH.DIGEST_NO_QOP, AUTH.PLAIN];

/**
 * Opens a redirection connection of one kind and authenticates it (console reference §1.3–§1.4,
 * §1.7): StartRedirectionSession, an authentication query, then digest (or plain where that is all
 * the firmware offers). Resolves with the channel ready for Start SOL / Start IDE-R; rejects with
 * `AmtRedirectionError`, `AmtAuthError` (`REDIRECTION_AUTH_FAILED`) or the transport's errors,
 * leaving nothing open.
 */
export async function openRedirection(options: RedirectionOptions, kind: SessionKind): Promise<RedirectionChannel> {
  const endpoint = {
    host: options.host,
    port: options.port ?? (options.tls ? AMT_REDIRECTION_TLS_PORT : AMT_REDIRECTION_PORT),
    ...(options.tls ? { tls: options.tls } : {}),
  };
  validateEndpoint(endpoint);
  const channel = await RedirectionChannel.open(endpoint, options.timeouts).catch((err: unknown) => {
    // A device answers TCP but refuses or resets the redirection port when its listener is off.
    const refused = err instanceof AmtConnectionError && ['CONNECTION_REFUSED', 'CONNECTION_RESET'].includes(err.code);
    throw refused ? listenerClosed(`${endpoint.host}:${endpoint.port}`, 'not-delivered', err) : err;
  });
  try {
    await startSession(channel, kind);
    await authenticate(channel, options.credential);
    return channel;
  } catch (err) {
    channel.close();
    throw err;
  }
}

async function startSession(channel: RedirectionChannel, kind: SessionKind): Promise<void> {
  const request = Buffer.alloc(8);
  request[0] = REDIRECTION.START_SESSION;
  request.write(SESSION_TYPE[kind], 4, 'latin1');
  channel.send(request);
  let reply: Buffer;
  try {
    reply = await channel.next();
  } catch (err) {
    const closed =
      (err instanceof AmtRedirectionError && err.code === 'REDIRECTION_CLOSED') || err instanceof AmtConnectionError;
    if (!closed) throw err;
    throw listenerClosed(channel.target, 'rejected', err);
  }
  expectType(channel, reply, REDIRECTION.START_SESSION_REPLY);
  const status = reply[1]!;
  if (status === START_STATUS.SUCCESS) return;
  const what = kind === 'sol' ? 'serial over LAN' : 'IDE redirection';
  if (status === START_STATUS.UNSUPPORTED)
    throw new AmtRedirectionError(
      'REDIRECTION_FEATURE_DISABLED',
      `${channel.target}: ${what} is disabled on the device`,
    );
  if (status === START_STATUS.BUSY)
    throw new AmtRedirectionError('REDIRECTION_BUSY', `${channel.target}: a ${what} session is already open`);
  throw new AmtRedirectionError(
    'REDIRECTION_START_FAILED',
    `${channel.target}: session start refused (status ${status})`,
  );
}

function listenerClosed(target: string, outcome: 'rejected' | 'not-delivered', cause: unknown): AmtRedirectionError {
  return new AmtRedirectionError(
    'REDIRECTION_LISTENER_CLOSED',
    `${target}: the device refused or closed the redirection port without answering (redirection listener disabled, or TLS required)`,
    outcome,
    { cause },
  );
}

async function authenticate(channel: RedirectionChannel, credential: AmtCredential): Promise<void> {
  const query = await exchange(channel, AUTH.QUERY, Buffer.alloc(0));
  // Firmware without the query (plain-only releases) answers it with a failure: plain it is.
  const offered = query.status === AUTH.SUCCESS ? [...query.data] : [AUTH.PLAIN];
  const method = PREFERENCE.find((m) => offered.includes(m));
  if (method === undefined) {
    throw new AmtRedirectionError(
      'REDIRECTION_AUTH_UNSUPPORTED',
      `${channel.target}: the device offers authentication types [${offered.join(', ')}], none of which this console speaks`,
    );
  }
  const refused = () =>
    new AmtAuthError([credential.ref], channel.target, 'REDIRECTION_AUTH_FAILED', 'redirection authentication failed');
  const { username, password } = credential;
  if (method === AUTH.PLAIN) {
    const answer = await exchange(channel, AUTH.PLAIN, lengthPrefixed([username, password]));
    if (answer.status !== AUTH.SUCCESS) throw refused();
    return;
  }
  const qop = method === AUTH.DIGEST;
  // Step one: user and URI, realm, nonce, cnonce, nc, response (and qop) empty (MeshCommander's shape).
  const empty = qop ? ['', '', '', ''] : ['', '', ''];
  const challenge = await exchange(channel, method, lengthPrefixed([username, '', '', DIGEST_URI, ...empty]));
  const fields = challenge.status === AUTH.FAIL ? readLengthPrefixed(challenge.data, qop ? 3 : 2) : null;
  if (!fields || (qop && fields[2] !== 'auth')) {
    throw new AmtRedirectionError(
      'REDIRECTION_PROTOCOL_ERROR',
      `${channel.target}: no usable digest challenge`,
      'unknown',
    );
  }
  const [realm, nonce] = fields as [string, string];
  const cnonce = randomBytes(16).toString('hex');
  const response = digestResponse({
    username,
    password,
    realm,
    method: 'POST',
    uri: DIGEST_URI,
    nonce,
    nc: DIGEST_NC,
    cnonce,
    qop: qop ? 'auth' : undefined,
  });
  const answer = await exchange(
    channel,
    method,
    lengthPrefixed([username, realm, nonce, DIGEST_URI, cnonce, DIGEST_NC, response, ...(qop ? ['auth'] : [])]),
  );
  if (answer.status !== AUTH.SUCCESS) throw refused();
}

/** One AuthenticateSession round trip: `13 00 00 00 type len(LE32) data` → status and reply data. */
async function exchange(
  channel: RedirectionChannel,
  type: number,
  data: Buffer,
): Promise<{ status: number; data: Buffer }> {
  const request = Buffer.alloc(9);
  request[0] = REDIRECTION.AUTHENTICATE;
  request[4] = type;
  request.writeUInt32LE(data.length, 5);
  channel.send(Buffer.concat([request, data]));
  const reply = await channel.next();
  expectType(channel, reply, REDIRECTION.AUTHENTICATE_REPLY);
  return { status: reply[1]!, data: reply.subarray(9) };
}

/** A reply of another type than the one the protocol prescribes ends the session. */
export function expectType(channel: RedirectionChannel, message: Buffer, type: number): void {
  if (message[0] === type) return;
  const error = new AmtRedirectionError(
    'REDIRECTION_PROTOCOL_ERROR',
    `${channel.target}: expected message 0x${type.toString(16)}, got 0x${message[0]!.toString(16)}`,
    'unknown',
  );
  channel.abort(error);
  throw error;
}
