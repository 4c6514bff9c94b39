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
