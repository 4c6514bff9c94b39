import { randomUUID } from 'node:crypto';
import {
  AmtConnectionError,
  AmtError,
  AmtFaultError,
  AmtLimitError,
  AmtProtocolError,
  AmtTimeoutError,
} from '../errors';
import type { AmtHttpClient } from '../http-client';
import { checkReturnValue } from '../return-values';
import { failedResponse } from '../soap-failure';
import type { AmtTimeouts } from '../transport';
import { createSoapParser, escapeXml, isXmlObject, listOf, pathOf, textOf, type XmlObject } from '../xml';
import {
  MULTI_VALUED,
  classSpec,
  isCatalogued,
  methodSpec,
  resourceUri,
  type ClassName,
  type MethodName,
} from './catalogue';
import {
  ACTIONS,
  NS,
  envelopeXml,
  instanceFrom,
  instanceXml,
  parseEpr,
  valueXml,
  type EndpointReference,
  type Selectors,
  type WsmanInstance,
  type WsmanValue,
} from './envelope';
import { mergeForPut, optionalInteger, type PutChanges } from './properties';

const parser = createSoapParser(MULTI_VALUED);
/** Faults that clear by themselves: the service was busy or ran out of time. */
const TRANSIENT_SUBCODES = new Set(['QuotaLimit', 'TimedOut', 'Concurrency']);
/**
 * What one enumeration may cost before the client stops reading and releases the context: no AMT
 * class holds anywhere near this many instances (certificates, keys, Wi-Fi profiles, ACL entries
 * count in tens), and a firmware that keeps handing out contexts, or items of megabytes, is broken
 * or hostile (issue 12 §4).
 */
export const ENUMERATION_LIMITS = { pulls: 100, items: 1000, bytes: 4 * 1024 * 1024 } as const;
/** What every client sends (§2.2); our own per-request timeouts are the ones that count. */
const OPERATION_TIMEOUT = 'PT60S';

export type MethodArguments = Readonly<Record<string, WsmanValue | undefined>>;

const localName = (qualified: string): string => qualified.slice(qualified.indexOf(':') + 1);
const upperSnake = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** `WSMAN_ALREADY_EXISTS` for subcode `e:AlreadyExists`. */
function faultCode(subcode: string | undefined): string {
  return subcode ? `WSMAN_${upperSnake(subcode)}` : 'WSMAN_FAULT';
}

function faultFrom(envelope: XmlObject, context: string): AmtFaultError | undefined {
  const fault = pathOf(envelope, 'Envelope', 'Body', 'Fault');
  if (!isXmlObject(fault)) return undefined;
  const subcodeText = textOf(pathOf(fault, 'Code', 'Subcode', 'Value'));
  const named = subcodeText ? localName(subcodeText.trim()) : undefined;
  // A subcode is a QName's local part; anything else is a device's noise, not a code to keep.
  const subcode = named !== undefined && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(named) ? named : undefined;
  const reason = textOf(pathOf(fault, 'Reason', 'Text'))?.trim() ?? 'no reason given';
  const detail = textOf(pathOf(fault, 'Detail', 'FaultDetail')) ?? textOf(pathOf(fault, 'Detail'));
  return new AmtFaultError(
    faultCode(subcode),
    subcode,
    reason,
    detail?.trim() || undefined,
    context,
    subcode !== undefined && TRANSIENT_SUBCODES.has(subcode),
  );
}

/**
 * Generic WS-Management operations over the typed catalogue. Every call is one HTTP exchange
 * (Enumerate is Enumerate + Pull until EndOfSequence); faults and non-zero return values become
 * typed errors.
 */
export class WsmanClient {
  constructor(private readonly http: AmtHttpClient) {}

  /** The transport below, for the login state (credential ref, realm, Server header). */
  get transport(): AmtHttpClient {
    return this.http;
  }

  async get(className: ClassName, selectors?: Selectors): Promise<WsmanInstance> {
    const body = await this.exchange(ACTIONS.get, className, selectors, '');
    return this.expectInstance(className, body, 'Get');
  }

  /**
   * Writes back an instance read before, with `changes` applied (see mergeForPut). Multi-instance
   * classes are addressed by their key properties unless selectors are given.
   */
  async put(instance: WsmanInstance, changes: PutChanges, selectors?: Selectors): Promise<WsmanInstance | undefined> {
    const className = instance.className;
    if (!isCatalogued(className)) throw new TypeError(`${className} is not in the class catalogue`);
    const properties = mergeForPut(instance, changes);
    const body = await this.exchange(
      ACTIONS.put,
      className,
      selectors ?? this.keySelectors(className, instance),
      instanceXml(className, properties),
    );
    return instanceFrom(className, body[className]);
  }

  async create(className: ClassName, properties: MethodArguments): Promise<EndpointReference> {
    const body = await this.exchange(ACTIONS.create, className, undefined, instanceXml(className, properties));
    const created = parseEpr(body['ResourceCreated']);
    if (!created) throw new AmtProtocolError(`${this.http.target}: Create ${className}: no ResourceCreated reference`);
    return created;
  }

  async delete(className: ClassName, selectors: Selectors): Promise<void> {
    await this.exchange(ACTIONS.delete, className, selectors, '');
  }

  /**
   * Enumerate + Pull, following the enumeration context until EndOfSequence, within
   * ENUMERATION_LIMITS (AmtLimitError ENUMERATION_LIMIT_EXCEEDED beyond). Firmware holds few
   * contexts: one left open when a Pull fails or the client gives up is released at once, or the
   * device refuses further enumerations until it expires.
   */
  async enumerate(className: ClassName): Promise<WsmanInstance[]> {
    const started = await this.exchange(
      ACTIONS.enumerate,
      className,
      undefined,
      `<Enumerate xmlns="${NS.enumeration}"></Enumerate>`,
    );
    let context = textOf(pathOf(started, 'EnumerateResponse', 'EnumerationContext'));
    if (!context) {
      throw new AmtProtocolError(`${this.http.target}: Enumerate ${className}: no EnumerationContext`);
    }
    const instances: WsmanInstance[] = [];
    let bytes = 0;
    try {
      for (let pulls = 0; ; pulls++) {
        if (pulls >= ENUMERATION_LIMITS.pulls) {
          throw this.limit(className, `no EndOfSequence after ${ENUMERATION_LIMITS.pulls} pulls`);
        }
        const pulled = await this.exchange(
          ACTIONS.pull,
          className,
          undefined,
          `<Pull xmlns="${NS.enumeration}"><EnumerationContext>${escapeXml(context)}</EnumerationContext>` +
            '<MaxElements>999</MaxElements><MaxCharacters>99999</MaxCharacters></Pull>',
          undefined,
          (size) => {
            bytes += size;
            if (bytes > ENUMERATION_LIMITS.bytes) {
              throw this.limit(className, `more than ${ENUMERATION_LIMITS.bytes} bytes of Pull responses`);
            }
          },
        );
        const response = pathOf(pulled, 'PullResponse');
        if (!isXmlObject(response)) {
          throw new AmtProtocolError(`${this.http.target}: Pull ${className}: no PullResponse`);
        }
        // The context a PullResponse carries supersedes the one pulled: it is the one to release
        // if the client gives up on this very page.
        context = textOf(response['EnumerationContext']) ?? context;
        instances.push(...this.pulledItems(response));
        if (instances.length > ENUMERATION_LIMITS.items) {
          throw this.limit(className, `more than ${ENUMERATION_LIMITS.items} instances`);
        }
        if ('EndOfSequence' in response) return instances;
      }
    } catch (err) {
      await this.release(className, context, err);
      throw err;
    }
  }

  private pulledItems(response: XmlObject): WsmanInstance[] {
    const items = response['Items'];
    if (!isXmlObject(items)) return [];
    return Object.entries(items).flatMap(([name, nodes]) =>
      name.startsWith('@_') ? [] : listOf(nodes).flatMap((node) => instanceFrom(name, node) ?? []),
    );
  }

  private limit(className: ClassName, what: string): AmtLimitError {
    return new AmtLimitError(
      'ENUMERATION_LIMIT_EXCEEDED',
      `${this.http.target}: Pull ${className}: ${what}; enumeration abandoned`,
    );
  }

  /**
   * Best effort Release of a context an enumeration leaves behind (DSP0226 §8.5). Not when the
   * device is unreachable (it cannot hear it) or says the context is gone; a failed Release is
   * ignored — the enumeration's own error is what the caller needs.
   */
  private async release(className: ClassName, context: string, cause: unknown): Promise<void> {
    if (cause instanceof AmtTimeoutError || cause instanceof AmtConnectionError) return;
    if (cause instanceof AmtFaultError && cause.subcode === 'InvalidEnumerationContext') return;
    try {
      await this.exchange(
        ACTIONS.release,
        className,
        undefined,
        `<Release xmlns="${NS.enumeration}"><EnumerationContext>${escapeXml(context)}</EnumerationContext></Release>`,
      );
    } catch (err) {
      if (!(err instanceof AmtError)) throw err;
    }
  }

  /**
   * Invokes a method with its arguments in catalogue (MOF) order; returns the `<Method>_OUTPUT`
   * element after checking its ReturnValue.
   */
  async invoke<C extends ClassName>(
    className: C,
    method: MethodName<C>,
    args: MethodArguments = {},
    options: { selectors?: Selectors; timeouts?: AmtTimeouts } = {},
  ): Promise<WsmanInstance> {
    const spec = methodSpec(className, method);
    const unknown = Object.keys(args).filter((name) => !spec.params.includes(name));
    if (unknown.length) throw new TypeError(`${className}.${method} has no parameter ${unknown.join(', ')}`);
    const input = spec.params.map((name) => valueXml('h', name, args[name])).join('');
    const uri = resourceUri(className);
    const body = await this.exchange(
      `${uri}/${method}`,
      className,
      options.selectors,
      `<h:${method}_INPUT xmlns:h="${uri}">${input}</h:${method}_INPUT>`,
      options.timeouts,
    );
    const output = instanceFrom(`${method}_OUTPUT`, body[`${method}_OUTPUT`]);
    const returnValue = output && optionalInteger(output, 'ReturnValue');
    if (!output || returnValue === undefined) {
      throw new AmtProtocolError(`${this.http.target}: ${className}.${method}: no ReturnValue in the response`);
    }
    checkReturnValue(spec.returns, returnValue, `${className}.${method}`);
    return output;
  }

  private keySelectors(className: ClassName, instance: WsmanInstance): Selectors | undefined {
    const keys = classSpec(className).keys;
    if (!keys) return undefined;
    return Object.fromEntries(
      keys.map((key) => {
        const value = textOf(instance.properties[key]);
        if (value === undefined) throw new TypeError(`${instance.className} instance lacks its key ${key}`);
        return [key, value];
      }),
    );
  }

  private expectInstance(className: ClassName, body: XmlObject, operation: string): WsmanInstance {
    const instance = instanceFrom(className, body[className]);
    if (!instance)
      throw new AmtProtocolError(`${this.http.target}: ${operation} ${className}: no instance in the response`);
    return instance;
  }

  /** One request; returns the children of the response Body. */
  private async exchange(
    action: string,
    className: ClassName,
    selectors: Selectors | undefined,
    body: string,
    timeouts?: AmtTimeouts,
    onResponseBytes?: (bytes: number) => void,
  ): Promise<XmlObject> {
    const messageId = `uuid:${randomUUID()}`;
    const context = `${this.http.target}: ${action.slice(action.lastIndexOf('/') + 1)} ${className}`;
    const xml = envelopeXml({
      action,
      resourceUri: resourceUri(className),
      messageId,
      ...(selectors ? { selectors } : {}),
      body,
      operationTimeout: OPERATION_TIMEOUT,
    });
    const response = await this.http.post(
      { path: '/wsman', headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: xml },
      timeouts,
    );
    onResponseBytes?.(Buffer.byteLength(response.body));
    if (response.status === 200) {
      const envelope = parser.parse(response.body, context);
      const relatesTo = textOf(pathOf(envelope, 'Envelope', 'Header', 'RelatesTo'));
      if (relatesTo !== undefined && relatesTo.trim() !== messageId) {
        throw new AmtProtocolError(`${context}: response relates to another message`);
      }
      const responseBody = pathOf(envelope, 'Envelope', 'Body');
      if (isXmlObject(responseBody)) return responseBody;
      if (responseBody === '') return {};
      throw new AmtProtocolError(`${context}: response has no SOAP Body`);
    }
    throw failedResponse(response.status, response.body, context, parser, (envelope) => faultFrom(envelope, context));
  }
}
