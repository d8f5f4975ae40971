#!/usr/bin/env node
// Checks that the repository's Markdown (README.md, packages/*/README.md, docs/**/*.md) links only to
// files inside the repository that exist: a clone, or a package page on the registry, has nothing
// beside it. Web links (http:, https:, mailto:) are not fetched. Exit 1 with file:line of each bad link.
//
//   node tools/check-links.mjs [FILE.md…]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles() {
  const files = [join(root, 'README.md')];
  for (const p of readdirSync(join(root, 'packages'))) {
    const readme = join(root, 'packages', p, 'README.md');
    if (existsSync(readme)) files.push(readme);
  }
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) files.push(join(dir, e.name));
    }
  };
  walk(join(root, 'docs'));
  return files;
}

/** Link targets with their line numbers: inline `[t](x)`, images, reference definitions `[t]: x`, HTML src/href. */
export function linksOf(text) {
  const out = [];
  let fenced = false;
  for (const [i, line] of text.split('\n').entries()) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const code = line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length)); // inline code is not a link
    for (const m of code.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ line: i + 1, target: m[1] });
    const ref = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(code);
    if (ref) out.push({ line: i + 1, target: ref[1] });
    for (const m of code.matchAll(/\b(?:src|href)="([^"]+)"/g)) out.push({ line: i + 1, target: m[1] });
  }
  return out;
}

/** Why a link from `file` to `target` is bad, or undefined if it is fine. */
export function problemOf(file, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return /^(https?|mailto):/i.test(target) ? undefined : `a ${target.split(':')[0]}: link`;
  }
  const path = decodeURIComponent(target.split('#')[0]);
  if (path === '') return undefined; // an anchor in the same file
  const abs = path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
  const rel = relative(root, abs);
  if (rel === '..' || rel.startsWith(`..${sep}`)) return 'points outside the repository';
  if (!existsSync(abs)) return 'no such file';
  if (path.endsWith('/') && !statSync(abs).isDirectory()) return 'not a folder';
  return undefined;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : markdownFiles();
  let bad = 0;
  let count = 0;
  for (const file of files) {
    for (const { line, target } of linksOf(readFileSync(file, 'utf8'))) {
      count++;
      const problem = problemOf(file, target);
      if (problem) {
        bad++;
        console.error(`${relative(root, file)}:${line}: ${target}: ${problem}`);
      }
    }
  }
  if (bad) {
    console.error(`check-links: ${bad} bad link(s); link only to files inside the repository`);
    process.exit(1);
  }
  console.log(`check-links: ${count} links in ${files.length} Markdown files, all inside the repository`);
}
