/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and returns the results in input
 * order. sharp does its work on libuv's thread pool, so a few calls in flight keep all cores busy
 * while this thread only schedules. After a failure no new item is started, and the first error is
 * thrown once the calls in flight have settled (so nothing keeps writing after this returns).
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lanes = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (!failure && next < items.length) {
        const i = next++;
        try {
          out[i] = await fn(items[i]!, i);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure) throw failure.error;
  return out;
}
