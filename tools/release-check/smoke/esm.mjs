// Run by run.mjs in an empty folder where npm installed the packed @skingan/core, data and metrics:
// what an application gets from `import`. Every check compares against a value worked out by hand.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classIndex, ISIC2019, Rng } from '@skingan/core';
import { decodeImage, formatLabelsCsv, parseLabelsCsv, rgbToPng } from '@skingan/data';
import { classificationReport } from '@skingan/metrics';

// metrics: true [0,0,0,1], predicted (argmax) [0,0,1,1] → accuracy 3/4, recalls 2/3 and 1.
const report = classificationReport(
  [0, 0, 0, 1],
  [
    [0.9, 0.1],
    [0.8, 0.2],
    [0.4, 0.6],
    [0.3, 0.7],
  ],
  { classes: ['MEL', 'NV'] },
);
assert.equal(report.accuracy, 0.75);
assert.equal(report.balancedAccuracy, (2 / 3 + 1) / 2);
assert.deepEqual(report.confusion, [
  [2, 1],
  [0, 1],
]);

// core: the ISIC 2019 label space and a seeded generator that repeats itself.
assert.equal(ISIC2019.classes.length, 8);
assert.equal(classIndex(ISIC2019, 'NV'), 1);
assert.equal(new Rng(42).float(), new Rng(42).float());

// data: a labels CSV round trip (fast-csv), and a PNG written and decoded by sharp.
const csv = await formatLabelsCsv([{ id: 'ISIC_0000001', className: 'BCC' }]);
const labels = await parseLabelsCsv(csv, 'labels.csv');
assert.deepEqual(
  labels.rows.map((r) => [r.id, r.className, r.line]),
  [['ISIC_0000001', 'BCC', 2]],
);
const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-smoke-'));
const png = join(dir, 'red.png');
await fs.writeFile(png, await rgbToPng({ data: new Uint8Array(4 * 4 * 3).fill(255), width: 4, height: 4 }));
const pixels = await decodeImage(png, 2); // white, resized to 2×2 and mapped to [-1, 1]
assert.deepEqual(Array.from(pixels), new Array(2 * 2 * 3).fill(1));
await fs.rm(dir, { recursive: true });

console.log(
  `esm: ok (balanced accuracy ${report.balancedAccuracy.toFixed(4)}, ${labels.rows.length} label row, 2×2 image decoded)`,
);
