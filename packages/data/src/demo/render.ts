import type { Rng } from '@skingan/core';
import type { LesionDesign } from './lesions.js';
import {
  distanceToPolyline,
  jitter,
  mix,
  type Rgb,
  randomWalk,
  type Stroke,
  smoothstep,
  stroke,
  ValueNoise,
} from './paint.js';

/**
 * Renders a lesion on skin: a skin tone with soft shading, the lesion, its spots and strokes, then
 * class-independent clutter (hairs, the dark rim of a dermatoscope's field), as HWC RGB bytes.
 */
export function renderLesion(design: LesionDesign, size: number, rng: Rng): Uint8Array {
  const skin = mix([238, 202, 178], [188, 138, 104], rng.float() * 0.6);
  const shade = new ValueNoise(rng, 2);
  const grain = new ValueNoise(rng, Math.max(4, Math.round(size / 4)));
  const light = { x: rng.float() * 2 - 1, y: rng.float() * 2 - 1 };
  const hair = () =>
    stroke(
      randomWalk(rng, [rng.float(), rng.float()], 25, 0.04, 0.15),
      0.004 + rng.float() * 0.003,
      jitter([42, 32, 26], rng, 8),
      0.9,
    );
  const hairs = rng.float() < 0.3 ? Array.from({ length: 1 + rng.int(3) }, hair) : [];
  const rim = rng.float() < 0.4 ? 0.5 + rng.float() * 0.12 : Number.POSITIVE_INFINITY;
  const cos = Math.cos(design.rotation);
  const sin = Math.sin(design.rotation);
  const px = 1 / size;
  const out = new Uint8Array(size * size * 3);

  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const x = (i + 0.5) * px;
      const y = (j + 0.5) * px;
      // Skin: tone, a soft light gradient and low-contrast grain.
      const s =
        1 +
        0.05 * ((x - 0.5) * light.x + (y - 0.5) * light.y) +
        0.06 * (shade.at(x, y) - 0.5) +
        0.04 * (grain.at(x, y) - 0.5);
      let c: Rgb = [skin[0] * s, skin[1] * s, skin[2] * s];
      // Lesion body: radial position relative to a border modulated by the harmonics.
      const dx = x - design.cx;
      const dy = y - design.cy;
      const u = dx * cos + dy * sin;
      const v = (-dx * sin + dy * cos) / design.stretch;
      const theta = Math.atan2(v, u);
      let border = 1;
      for (const h of design.harmonics) border += h.a * Math.cos(h.k * theta + h.phase);
      const rn = Math.hypot(u, v) / (design.radius * border);
      const inside = 1 - smoothstep(1 - design.edge, 1 + design.edge, rn);
      if (inside > 0) {
        const [color, alpha] = design.body(x, y, Math.min(rn, 1));
        c = mix(c, color, inside * alpha);
        for (const spot of design.spots) {
          const d = Math.hypot(x - spot.x, y - spot.y);
          if (d < spot.r + px)
            c = mix(c, spot.color, spot.alpha * inside * (1 - smoothstep(spot.r - px, spot.r + px, d)));
        }
      }
      for (const stroke of design.strokes) c = paintStroke(c, stroke, x, y, px, inside);
      for (const hair of hairs) c = paintStroke(c, hair, x, y, px, 1);
      const r = Math.hypot(x - 0.5, y - 0.5);
      if (r > rim - 0.05) c = mix(c, [14, 11, 11], smoothstep(rim - 0.05, rim + 0.02, r));
      const o = (j * size + i) * 3;
      out[o] = clampByte(c[0]);
      out[o + 1] = clampByte(c[1]);
      out[o + 2] = clampByte(c[2]);
    }
  }
  return out;
}

function paintStroke(c: Rgb, stroke: Stroke, x: number, y: number, px: number, weight: number): Rgb {
  if (weight <= 0) return c;
  const d = distanceToPolyline(x, y, stroke.points);
  const half = stroke.width / 2;
  if (d > half + px) return c;
  return mix(c, stroke.color, stroke.alpha * weight * (1 - smoothstep(half - px / 2, half + px, d)));
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
