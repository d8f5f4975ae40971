import { promises as fs } from 'node:fs';
import { join } from 'node:path';

/** One line of a dataset's `provenance.jsonl`: the record, and the line as written (to copy it unchanged). */
export interface ProvenanceLine {
  id: string;
  record: Record<string, unknown>;
  line: string;
}

/**
 * The records of `dir/provenance.jsonl` that name an image id, in file order; none when the file is
 * absent (real datasets have none). A torn line, the last append of a killed writer, is skipped:
 * the image it describes was never committed either.
 */
export async function readProvenance(dir: string): Promise<ProvenanceLine[]> {
  const text = await fs.readFile(join(dir, 'provenance.jsonl'), 'utf8').catch(() => '');
  const out: ProvenanceLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof record.id === 'string') out.push({ id: record.id, record, line });
  }
  return out;
}
