import type { Payload, PayloadCodec } from '@temporalio/common';
/**
 * Flattens everything a workflow history holds — strings and raw payload bytes — into one text,
 * so a test can search it for secrets in the forms they could leak in.
 */
export function historyText(value: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown): void => {
    if (node === null || node === undefined) return;
    if (typeof node === 'string') parts.push(node);
    else if (typeof node === 'number' || typeof node === 'bigint' || typeof node === 'boolean')
      parts.push(String(node));
    else if (node instanceof Uint8Array) parts.push(Buffer.from(node).toString('latin1'));
    else if (typeof node === 'object') {
      if (seen.has(node)) return;
      seen.add(node);
      if (typeof (node as { toNumber?: unknown }).toNumber === 'function') parts.push(String(node));
      for (const child of Object.values(node as Record<string, unknown>)) walk(child);
    }
  };
  walk(value);
  return parts.join('\n');
}

/** The forms a secret could take in a history: as is, UTF-16LE, base64 and hex. */
export function leakedForms(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret, 'utf16le').toString('latin1'),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('hex'),
  ];
}

export function findLeaks(text: string, secrets: string[]): string[] {
  return secrets.filter((secret) => leakedForms(secret).some((form) => text.includes(form)));
}

interface PayloadLike {
  metadata?: Record<string, Uint8Array | null> | null;
  data?: Uint8Array | null;
}

const isPayload = (node: unknown): node is PayloadLike =>
  typeof node === 'object' &&
  node !== null &&
  'data' in node &&
  'metadata' in node &&
  (node as PayloadLike).data instanceof Uint8Array;

/**
 * The history as an operator with the codec would read it: every payload (inputs, results, failure
 * details) decoded, then flattened with everything else. Scanning only the encrypted form would
 * prove the codec works, not that workflows keep secrets out of history.
 */
export async function decodedHistoryText(history: unknown, codec: PayloadCodec): Promise<string> {
  const decoded: string[] = [];
  const seen = new Set<unknown>();
  const walk = async (node: unknown): Promise<void> => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (isPayload(node)) {
      const [plain] = await codec.decode([node as Payload]);
      decoded.push(Buffer.from(plain?.data ?? []).toString('utf8'));
      return;
    }
    for (const child of Object.values(node as Record<string, unknown>)) await walk(child);
  };
  await walk(history);
  return `${historyText(history)}\n${decoded.join('\n')}`;
}
