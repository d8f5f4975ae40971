/**
 * `over` merged into `base`: nested plain objects merge key by key, anything else (arrays included)
 * replaces; an undefined value in `over` keeps the base's. For preset → config file → flags layers.
 */
export function deepMerge<T extends object>(base: T, over: object): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    const bothObjects = [v, b].every((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
    out[k] = bothObjects ? deepMerge(b as object, v as object) : v;
  }
  return out as T;
}
