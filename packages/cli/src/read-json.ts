import { promises as fs } from 'node:fs';

/** A JSON file's content; undefined when it is missing or unreadable (the caller says what that means). */
export async function readJsonIfAny<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
