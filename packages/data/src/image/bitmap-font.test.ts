import { describe, expect, it } from 'vitest';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';

/** `text` drawn at scale 1 in white on black, as rows of '#' and '.'. */
function render(text: string): string[] {
  const width = textWidth(text, 1);
  const buffer = new Uint8Array(width * GLYPH_HEIGHT * 3);
  drawText(buffer, width, text, 0, 0, 1, [255, 255, 255]);
  return Array.from({ length: GLYPH_HEIGHT }, (_, y) =>
    Array.from({ length: width }, (_, x) => (buffer[(y * width + x) * 3] ? '#' : '.')).join(''),
  );
}

describe('drawText', () => {
  it('draws the arrow and α of experiment labels ("NV → MEL, α=1"), not the "?" of missing glyphs', () => {
    // biome-ignore format: the glyph
    expect(render('→')).toEqual(['.....', '..#..', '...#.', '#####', '...#.', '..#..', '.....']);
    // biome-ignore format: the glyph
    expect(render('α')).toEqual(['.....', '.....', '.##.#', '#..#.', '#..#.', '#..#.', '.##.#']);
    expect(render('a')).toEqual(render('A'));
    expect(render('€')).toEqual(render('?'));
    // α, a column of space, "=" (blank on its last row), a column, "1".
    expect(render('α=1')[6]).toBe('.##.#' + '.' + '.....' + '.' + '.###.');
  });
});
