import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { editDistance, nearestKey, parseConfig, readConfigFile, schemaKeysAt } from './config-issues.js';

const Schema = z
  .strictObject({
    seed: z.number().default(0),
    training: z
      .strictObject({ learningRateG: z.number().default(1), batchSize: z.number().default(2) })
      .prefault({}),
  })
  .transform((c) => ({ ...c, derived: true }));

describe('nearest config key', () => {
  it('editDistance counts insertions, deletions and substitutions, ignoring case', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('learningrateG', 'learningRateG')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('repeatz', 'repeats')).toBe(1);
  });

  it('nearestKey suggests a plausible typo only', () => {
    expect(nearestKey('trainingg', ['seed', 'training'])).toBe('training');
    expect(nearestKey('zzzzzzzz', ['seed', 'training'])).toBeUndefined();
  });

  it('schemaKeysAt sees through prefault, transform and nesting', () => {
    expect(schemaKeysAt(Schema, [])).toEqual(['seed', 'training']);
    expect(schemaKeysAt(Schema, ['training'])).toEqual(['learningRateG', 'batchSize']);
    expect(schemaKeysAt(Schema, ['nowhere'])).toEqual([]);
  });

  it('parseConfig {"training":{"learningrateG":5}} → "unknown key training.learningrateG — did you mean learningRateG?"', () => {
    expect(() => parseConfig(Schema, { training: { learningrateG: 5 } }, 'test config')).toThrow(
      'invalid test config: unknown key training.learningrateG — did you mean learningRateG?',
    );
    expect(() => parseConfig(Schema, { trainingg: {}, seed: 'x' }, 'test config')).toThrow(
      /seed: Invalid input: expected number.*; unknown key trainingg — did you mean training\?/,
    );
    expect(() => parseConfig(Schema, { qqqqqqqq: 1 }, 'test config')).toThrow(
      'unknown key qqqqqqqq (valid keys: seed, training)',
    );
    expect(parseConfig(Schema, { training: { batchSize: 4 } }, 'test config')).toEqual({
      seed: 0,
      training: { learningRateG: 1, batchSize: 4 },
      derived: true,
    });
  });
});

describe('readConfigFile', () => {
  it('refuses a JSON array, a scalar, invalid JSON and a missing file, naming the file', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-config-'));
    try {
      const write = async (name: string, text: string) => {
        await fs.writeFile(join(dir, name), text);
        return join(dir, name);
      };
      const array = await write('array.json', '[{"seed": 1}]');
      await expect(readConfigFile(array)).rejects.toThrow(
        `${array}: a config file holds one JSON object of settings, not an array`,
      );
      await expect(readConfigFile(await write('n.json', '5'))).rejects.toThrow(/not a number/);
      await expect(readConfigFile(await write('null.json', 'null'))).rejects.toThrow(/not null/);
      await expect(readConfigFile(await write('bad.json', '{"a": '))).rejects.toThrow(
        /bad\.json: config file is not valid JSON/,
      );
      await expect(readConfigFile(join(dir, 'none.json'))).rejects.toThrow(
        /none\.json: config file not found/,
      );
      expect(await readConfigFile(await write('ok.json', '{"seed": 3}'))).toEqual({ seed: 3 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
