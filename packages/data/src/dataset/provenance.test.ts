import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProvenance } from './provenance.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('readProvenance', () => {
  it('returns each record with its line as written, skipping blank, id-less and torn lines', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-prov-'));
    dirs.push(dir);
    expect(await readProvenance(dir)).toEqual([]); // no provenance.jsonl: a real dataset
    const a = '{"id":"a","class":"MEL","seed":3}';
    const b = '{ "id": "b", "class": "NV" }';
    await fs.writeFile(join(dir, 'provenance.jsonl'), `${a}\n\n{"class":"DF"}\n${b}\n{"id":"c","cla`);
    expect(await readProvenance(dir)).toEqual([
      { id: 'a', record: { id: 'a', class: 'MEL', seed: 3 }, line: a },
      { id: 'b', record: { id: 'b', class: 'NV' }, line: b },
    ]);
  });
});
