import { AmtFaultError, AmtProtocolError } from '../errors';
import type { AmtHttpClient } from '../http-client';
import { checkReturnValue } from '../return-values';
import { failedResponse } from '../soap-failure';
import { createSoapParser, escapeXml, isXmlObject, pathOf, textOf, type XmlObject } from '../xml';

/**
 * The legacy EOI SOAP interface of AMT before 6.0 (protocol reference §6.7): `POST /<Name>Service`,
 * SOAP 1.1, one namespace per interface, the same Digest login as WS-Management. Every response
 * element `<Operation>Response` carries a PT_STATUS code (`StatusCode`, or `Status` in
 * RemoteControl, as amtc's captures show) followed by the output parameters.
 */

export const EOI_SERVICES = {
  GeneralInfo: 'http://schemas.intel.com/platform/client/GeneralInfo/2004/01',
  NetworkAdministration: 'http://schemas.intel.com/platform/client/NetworkAdministration/2004/01',
  NetworkTime: 'http://schemas.intel.com/platform/client/NetworkTime/2004/01',
  RemoteControl: 'http://schemas.intel.com/platform/client/RemoteControl/2004/01',
  SecurityAdministration: 'http://schemas.intel.com/platform/client/SecurityAdministration/2004/01',
} as const;

export type EoiService = keyof typeof EOI_SERVICES;

export type EoiScalar = string | number | boolean;

/** One input element; repeat the name for a list, nest elements for a structure. */
export interface EoiElement {
  readonly name: string;
  readonly value: EoiScalar | readonly EoiElement[];
}

export const el = (name: string, value: EoiElement['value']): EoiElement => ({ name, value });

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
// `Handle` is single in AddUserAclEntryResponse and repeated inside `Handles`; readers use listOf for it.
const parser = createSoapParser(new Set(['Certificate', 'Realm']));

function elementXml(element: EoiElement): string {
  const inner =
    typeof element.value === 'object' ? element.value.map(elementXml).join('') : escapeXml(String(element.value));
  return `<${element.name}>${inner}</${element.name}>`;
}

/** The request document: the operation element in the interface's default namespace. */
export function eoiEnvelope(service: EoiService, operation: string, input: readonly EoiElement[]): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<soap:Body><${operation} xmlns="${EOI_SERVICES[service]}">${input.map(elementXml).join('')}</${operation}>` +
    '</soap:Body></soap:Envelope>'
  );
}

function soap11Fault(envelope: XmlObject, context: string): AmtFaultError | undefined {
  const fault = pathOf(envelope, 'Envelope', 'Body', 'Fault');
  if (!isXmlObject(fault)) return undefined;
  const code = textOf(fault['faultcode'])?.trim();
  return new AmtFaultError(
    'SOAP_FAULT',
    code ? code.slice(code.indexOf(':') + 1) : undefined,
    textOf(fault['faultstring'])?.trim() ?? 'no reason given',
    textOf(fault['detail'])?.trim() || undefined,
    context,
    false,
  );
}

export class EoiClient {
  constructor(private readonly http: AmtHttpClient) {}

  get transport(): AmtHttpClient {
    return this.http;
  }

  /** Calls one operation; returns `<Operation>Response` after checking its status code. */
  async call(service: EoiService, operation: string, input: readonly EoiElement[] = []): Promise<XmlObject> {
    const context = `${this.http.target}: ${service}.${operation}`;
    const response = await this.http.post({
      path: `/${service}Service`,
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: `"${EOI_SERVICES[service]}#${operation}"`,
      },
      body: eoiEnvelope(service, operation, input),
    });
    if (response.status !== 200) {
      throw failedResponse(response.status, response.body, context, parser, (envelope) =>
        soap11Fault(envelope, context),
      );
    }
    const result = pathOf(parser.parse(response.body, context), 'Envelope', 'Body', `${operation}Response`);
    if (!isXmlObject(result)) throw new AmtProtocolError(`${context}: no ${operation}Response in the response`);
    const status = textOf(result['StatusCode']) ?? textOf(result['Status']);
    if (status === undefined || !/^\d+$/.test(status.trim())) {
      throw new AmtProtocolError(`${context}: no status code in the response`);
    }
    checkReturnValue('pt', Number(status), `${service}.${operation}`);
    return result;
  }
}
