// Runs one setup in this process (a fresh tfjs engine) and prints `RESULT {json}`.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gemmThreadsReady, initBackend } from '@skingan/core';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
const setup = (await import(pathToFileURL(join(here, 'setups', `${name}.mjs`)).href)).default;
const backend = await initBackend({ log: (l) => process.stderr.write(`  ${l}\n`) });
await gemmThreadsReady(); // time the steps with every thread the backend will use
const out = await setup.run({ backend });
const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(
  `RESULT ${JSON.stringify({ name, backend: backend.name, peakRssMB, anchor: setup.anchor, ...out })}`,
);
