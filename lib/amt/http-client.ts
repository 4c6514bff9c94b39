import { AmtAuthError } from './errors';
import { DigestSession, parseDigestChallenge } from './digest';
import {
  DeviceConnection,
  endpointLabel,
  headerValues,
  type AmtEndpoint,
  type AmtTimeouts,
  type HttpRequest,
  type HttpResponse,
} from './transport';

/** A candidate login. `ref` names it in results and errors; the password never leaves this module. */
export interface AmtCredential {
  readonly username: string;
  readonly password: string;
  readonly ref: string;
}

/**
 * HTTP with AMT's Digest login and the credential fallback of spec OOB5–OOB6: the first request
 * goes without credentials, the 401 challenge is answered with each candidate in order until one
 * is accepted, and the winner (its `ref`) is kept for later requests, which reuse the nonce with an
 * incrementing nonce count. Requests are serialised: AMT serves one at a time and the nonce count
 * must grow in sending order. They share the device's connection while the device keeps it open
 * (`DeviceConnection`: a 401 closes it, so a login costs two connections and the requests after it none).
 */
export class AmtHttpClient {
  readonly #endpoint: AmtEndpoint;
  readonly #timeouts: AmtTimeouts;
  readonly #connection: DeviceConnection;
  #credentials: readonly AmtCredential[];
  #active: AmtCredential | undefined;
  #digest: DigestSession | undefined;
  #server: string | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(endpoint: AmtEndpoint, timeouts: AmtTimeouts, credentials: readonly AmtCredential[]) {
    this.#endpoint = endpoint;
    this.#timeouts = timeouts;
    this.#credentials = [...credentials];
    this.#connection = new DeviceConnection(endpoint);
  }

  get target(): string {
    return endpointLabel(this.#endpoint);
  }

  /** The `ref` of the credential the device accepted last; undefined before a login (or if none was needed). */
  get credentialRef(): string | undefined {
    return this.#active?.ref;
  }

  /** The Digest realm of the last challenge (`Digest:` + 32 hex digits on AMT). */
  get digestRealm(): string | undefined {
    return this.#digest?.challenge.realm;
  }

  /** The last `Server` header, e.g. `Intel(R) Active Management Technology 15.0.23.1706`. */
  get serverHeader(): string | undefined {
    return this.#server;
  }

  /**
   * Puts a credential first and uses it from the next request on — after the admin password was
   * changed. The others stay as fallback, so a firmware that applies the new password only on
   * CommitChanges still accepts the old one.
   */
  preferCredential(credential: AmtCredential): void {
    this.#credentials = [credential, ...this.#credentials.filter((c) => c.ref !== credential.ref)];
    this.#active = credential;
  }

  /**
   * Closes the kept connection once the requests already queued are done, so the next request opens
   * (and checks) a new one. A read that must tell a device gone from the network — a refused
   * connect, certainly `not-delivered` — from a kept connection gone silent (`unknown`) asks for it.
   */
  dropConnection(): Promise<void> {
    const run = async (): Promise<void> => this.#connection.close();
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Sends one request (after the ones already queued); returns any non-401 response. */
  post(request: HttpRequest, timeouts: AmtTimeouts = this.#timeouts): Promise<HttpResponse> {
    const run = (): Promise<HttpResponse> => this.#send(request, timeouts);
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #send(request: HttpRequest, timeouts: AmtTimeouts): Promise<HttpResponse> {
    const refused = new Set<AmtCredential>();
    // A nonce from an earlier request may have expired; only a refusal against a challenge received
    // during this call proves the password wrong.
    let freshChallenge = false;
    let staleRetries = 0;
    let current = this.#digest ? (this.#active ?? this.#credentials[0]) : undefined;
    for (;;) {
      const authorization =
        current && this.#digest
          ? this.#digest.authorization(current.username, current.password, 'POST', request.path)
          : undefined;
      const response = await this.#connection.post(timeouts, {
        ...request,
        headers: authorization ? { ...request.headers, Authorization: authorization } : request.headers,
      });
      const server = response.headers['server'];
      if (typeof server === 'string') this.#server = server;
      if (response.status !== 401) {
        if (current) this.#active = current;
        return response;
      }
      const challenge = parseDigestChallenge(headerValues(response, 'www-authenticate'));
      if (!challenge) {
        throw new AmtAuthError(
          [...refused].map((c) => c.ref),
          this.target,
          'AUTH_SCHEME_UNSUPPORTED',
          'device offers no HTTP Digest (MD5, qop=auth) challenge',
        );
      }
      const challengeWasFresh = freshChallenge;
      this.#digest = new DigestSession(challenge);
      freshChallenge = true;
      if (current) {
        if (challenge.stale && staleRetries < 2) {
          staleRetries++;
          continue;
        }
        if (!challengeWasFresh) continue;
        refused.add(current);
        if (this.#active === current) this.#active = undefined;
      }
      current = this.#credentials.find((c) => !refused.has(c));
      if (!current) {
        throw new AmtAuthError(
          [...refused].map((c) => c.ref),
          this.target,
        );
      }
    }
  }
}
