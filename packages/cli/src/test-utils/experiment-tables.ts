import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/** A table an experiment wrote (`tables/<name>.json`). */
export async function readTable(exp: string, name: string) {
  return JSON.parse(await fs.readFile(join(exp, 'tables', `${name}.json`), 'utf8'));
}

/**
 * Checks the noise2img tables of a `test`-preset experiment on `classes`: Table 6.2 has the real
 * baseline, the `baselines` rows (labels) and a row per generator and N (4, 8), a precision and recall column per class, accuracy
 * and balanced accuracy in [0, 1]; every table is there as md, csv and json. Returns Table 6.2.
 */
export async function expectNoise2imgTables(
  exp: string,
  classes: readonly string[],
  baselines: readonly string[] = [],
) {
  const t = await readTable(exp, 'table-6.2');
  expect(t.rows.map((r: { label: string }) => r.label)).toEqual([
    'ISIC-0',
    ...baselines,
    'acgan-4',
    'cyclegan-4',
    'acgan-8',
    'cyclegan-8',
  ]);
  expect(t.columns.map((c: { key: string }) => c.key)).toEqual(
    classes.flatMap((c) => [`${c}.precision`, `${c}.recall`]).concat('accuracy', 'balancedAccuracy'),
  );
  for (const row of t.rows) {
    for (const key of ['accuracy', 'balancedAccuracy']) {
      const v = row.cells[key].value as number;
      expect(v >= 0 && v <= 1, `${row.label} ${key} = ${v}`).toBe(true);
    }
  }
  for (const name of ['table-6.2', 'paired-vs-isic-0', 'gan-metrics'])
    for (const ext of ['md', 'csv', 'json'])
      expect(existsSync(join(exp, 'tables', `${name}.${ext}`))).toBe(true);
  return t;
}
