// Run by run.mjs next to esm.mjs: what a CommonJS application gets from `require` (Node ≥ 20.19
// loads the ESM packages synchronously through their exports' "default" condition).
const assert = require('node:assert/strict');
const { ISIC2019 } = require('@skingan/core');
const { LABEL_COLUMNS } = require('@skingan/data');
const { confusionMatrix } = require('@skingan/metrics');

assert.deepEqual(LABEL_COLUMNS, ['image', ...ISIC2019.classes, 'UNK']);
const confusion = confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], 3);
assert.deepEqual(confusion, [
  [1, 0, 0],
  [0, 1, 1],
  [0, 0, 1],
]);
console.log(`cjs: ok (${LABEL_COLUMNS.length} label columns, 3×3 confusion matrix)`);
