/**
 * Runs `work` over `items` with at most `concurrency` in flight (deterministic: workflow code only).
 * Resolves when every item's work settled; `work` handles its own failures.
 */
export async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}
