import type { Rng } from '@skingan/core';
import { jitter, mix, type Rgb, randomWalk, type Stroke, smoothstep, stroke, ValueNoise } from './paint.js';

/** A round-ish blob drawn at a point (globules, cysts, lacunae, dotted vessels). */
export interface Spot {
  x: number;
  y: number;
  r: number;
  color: Rgb;
  alpha: number;
}

/**
 * One synthetic lesion: an irregular blob (radius modulated by harmonics, stretched and rotated) with a
 * class-specific body colour/texture, plus spots and strokes. Coordinates are in the unit square.
 */
export interface LesionDesign {
  cx: number;
  cy: number;
  radius: number;
  stretch: number;
  rotation: number;
  harmonics: { k: number; a: number; phase: number }[];
  /** Border softness as a fraction of the radius. */
  edge: number;
  /** Colour and opacity at (x, y); `rn` is the radial position, 0 at the centre and 1 on the border. */
  body(x: number, y: number, rn: number): [Rgb, number];
  spots: Spot[];
  strokes: Stroke[];
}

/** A designer may leave out the spots or strokes its class does not have. */
type Designer = (rng: Rng) => Omit<LesionDesign, 'spots' | 'strokes'> & Partial<LesionDesign>;

const between = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.float();

function base(rng: Rng, radius: [number, number], irregular: number, edge: [number, number], stretch = 0.75) {
  const harmonics = [2, 3, 4, 5, 6].map((k) => ({
    k,
    a: between(rng, 0, irregular) / Math.sqrt(k - 1),
    phase: between(rng, 0, 2 * Math.PI),
  }));
  return {
    cx: between(rng, 0.4, 0.6),
    cy: between(rng, 0.4, 0.6),
    radius: between(rng, radius[0], radius[1]),
    stretch: between(rng, stretch, 1),
    rotation: between(rng, 0, Math.PI),
    harmonics,
    edge: between(rng, edge[0], edge[1]),
  };
}

type Centre = { cx: number; cy: number; radius: number };

/** A random point at `frac` of the radius from the lesion's centre: where a vessel or fissure starts. */
function strokeStart(rng: Rng, shape: Centre, frac: number): [number, number] {
  const a = between(rng, 0, 2 * Math.PI);
  return [shape.cx + Math.cos(a) * shape.radius * frac, shape.cy + Math.sin(a) * shape.radius * frac];
}

/** Points inside the lesion's disc, for spots (radial position between rMin and rMax of the radius). */
function spotsIn(
  rng: Rng,
  shape: Centre,
  count: number,
  rMin: number,
  rMax: number,
  size: [number, number],
  colors: Rgb[],
  alpha: number,
): Spot[] {
  return Array.from({ length: count }, () => {
    const a = between(rng, 0, 2 * Math.PI);
    const d = shape.radius * between(rng, rMin, rMax);
    return {
      x: shape.cx + Math.cos(a) * d,
      y: shape.cy + Math.sin(a) * d,
      r: between(rng, size[0], size[1]),
      color: jitter(colors[rng.int(colors.length)]!, rng, 10),
      alpha,
    };
  });
}

const DESIGNERS: Record<string, Designer> = {
  // Melanoma: large, asymmetric, irregular fuzzy border, several colours incl. blue-grey, peripheral dots.
  MEL: (rng) => {
    const s = base(rng, [0.26, 0.38], 0.22, [0.12, 0.2]);
    const n1 = new ValueNoise(rng, 5);
    const n2 = new ValueNoise(rng, 3);
    const dark = jitter([72, 44, 32], rng, 12);
    const black = jitter([38, 28, 30], rng, 8);
    const blue = jitter([108, 112, 140], rng, 12);
    const light = jitter([150, 102, 72], rng, 12);
    const dir = between(rng, 0, 2 * Math.PI);
    return {
      ...s,
      body: (x, y, rn) => {
        const side = 0.5 + 0.5 * Math.cos(Math.atan2(y - s.cy, x - s.cx) - dir) * Math.min(1, rn * 1.5);
        let c = mix(light, dark, smoothstep(0.2, 0.8, n1.at(x, y) * 0.6 + side * 0.5));
        c = mix(c, black, smoothstep(0.65, 0.85, n1.at(y, x) * side + 0.2 * (1 - rn)));
        c = mix(c, blue, 0.8 * smoothstep(0.6, 0.75, n2.at(x, y)));
        return [c, 0.95];
      },
      spots: spotsIn(rng, s, 4 + rng.int(8), 0.6, 1.05, [0.008, 0.02], [black, dark], 0.85),
    };
  },
  // Nevus: smaller, symmetric, regular border, one even brown with a faint regular network.
  NV: (rng) => {
    const s = base(rng, [0.18, 0.28], 0.04, [0.05, 0.09], 0.8);
    const brown = jitter([118, 72, 44], rng, 12);
    const core = mix(brown, [80, 50, 32], 0.35);
    const period = between(rng, 30, 45);
    return {
      ...s,
      body: (x, y, rn) => {
        const net = Math.sin(x * period) * Math.sin(y * period) > 0.55 ? 0.12 : 0;
        return [mix(mix(brown, core, 1 - rn), [70, 45, 30], net), 0.92];
      },
    };
  },
  // Basal cell carcinoma: pearly pink nodule, arborizing red vessels, blue-grey ovoid nests.
  BCC: (rng) => {
    const s = base(rng, [0.2, 0.3], 0.08, [0.07, 0.1]);
    const n = new ValueNoise(rng, 4);
    const pink = jitter([226, 162, 160], rng, 10);
    const pearl = [246, 228, 228] as Rgb;
    const strokes: Stroke[] = [];
    const vessels = 3 + rng.int(4);
    for (let v = 0; v < vessels; v++) {
      const trunk = randomWalk(rng, strokeStart(rng, s, 0.3), 6, s.radius * 0.12, 0.6);
      strokes.push(stroke(trunk, between(rng, 0.007, 0.012), jitter([172, 30, 45], rng, 10), 0.9));
      const fork = trunk[2 + rng.int(3)]!;
      strokes.push(stroke(randomWalk(rng, fork, 4, s.radius * 0.1, 0.8), 0.005, [185, 45, 55], 0.8));
    }
    return {
      ...s,
      body: (x, y) => [mix(pink, pearl, smoothstep(0.55, 0.85, n.at(x, y))), 0.88],
      spots: spotsIn(rng, s, rng.int(3), 0.2, 0.7, [0.025, 0.045], [[92, 98, 124]], 0.75),
      strokes,
    };
  },
  // Actinic keratosis: faint, diffuse red-pink patch with white scale and follicle dots.
  AK: (rng) => {
    const s = base(rng, [0.28, 0.4], 0.16, [0.2, 0.3], 0.65);
    const n = new ValueNoise(rng, 8);
    const red = jitter([212, 122, 112], rng, 10);
    return {
      ...s,
      body: (x, y) => {
        const scale = smoothstep(0.68, 0.8, n.at(x, y));
        return [mix(red, [242, 234, 222], scale * 0.8), 0.62];
      },
      spots: spotsIn(rng, s, 14 + rng.int(14), 0, 0.9, [0.007, 0.013], [[244, 236, 220]], 0.9),
    };
  },
  // Benign keratosis: sharp "stuck-on" tan/brown plaque, mottled, white cysts, dark openings, fissures.
  BKL: (rng) => {
    const s = base(rng, [0.26, 0.37], 0.06, [0.02, 0.04]);
    const n = new ValueNoise(rng, 6);
    const tan = jitter([196, 152, 96], rng, 10);
    const brown = jitter([160, 112, 64], rng, 10);
    const strokes = Array.from({ length: 3 + rng.int(3) }, () =>
      stroke(randomWalk(rng, strokeStart(rng, s, 0.5), 4, s.radius * 0.12, 0.5), 0.008, [112, 72, 44], 0.6),
    );
    return {
      ...s,
      body: (x, y) => [mix(tan, brown, smoothstep(0.3, 0.7, n.at(x, y))), 0.95],
      spots: [
        ...spotsIn(rng, s, 8 + rng.int(8), 0, 0.85, [0.012, 0.02], [[240, 236, 214]], 0.9),
        ...spotsIn(rng, s, 3 + rng.int(4), 0, 0.85, [0.01, 0.014], [[70, 50, 36]], 0.85),
      ],
      strokes,
    };
  },
  // Dermatofibroma: small, central white scar-like patch inside a delicate brown ring.
  DF: (rng) => {
    const s = base(rng, [0.15, 0.22], 0.05, [0.1, 0.14], 0.8);
    const ring = jitter([176, 118, 96], rng, 10);
    const scar = jitter([246, 238, 232], rng, 5);
    const inner = between(rng, 0.55, 0.7);
    return {
      ...s,
      body: (x, y, rn) => {
        const outer = smoothstep(inner - 0.1, inner + 0.1, rn);
        const net = Math.sin(x * 60) * Math.sin(y * 60) > 0.6 ? 0.15 * outer : 0;
        return [mix(mix(scar, ring, outer), [110, 70, 50], net), 0.9];
      },
    };
  },
  // Vascular lesion: well-demarcated red-purple lesion made of darker round lacunae.
  VASC: (rng) => {
    const s = base(rng, [0.17, 0.28], 0.06, [0.03, 0.05]);
    const n = new ValueNoise(rng, 4);
    const red = jitter([178, 36, 56], rng, 12);
    const purple = jitter([112, 30, 78], rng, 12);
    return {
      ...s,
      body: (x, y) => [mix(red, purple, smoothstep(0.3, 0.7, n.at(x, y))), 0.95],
      spots: spotsIn(
        rng,
        s,
        5 + rng.int(8),
        0,
        0.8,
        [0.025, 0.05],
        [
          [118, 18, 42],
          [80, 20, 60],
        ],
        0.9,
      ),
    };
  },
  // Squamous cell carcinoma: pink-red plaque, central yellow-white keratin crust, dotted vessels around it.
  SCC: (rng) => {
    const s = base(rng, [0.26, 0.38], 0.12, [0.07, 0.1]);
    const n = new ValueNoise(rng, 6);
    const pink = jitter([222, 116, 106], rng, 10);
    const crust = jitter([240, 220, 164], rng, 8);
    const crustSize = between(rng, 0.35, 0.5);
    return {
      ...s,
      body: (x, y, rn) => {
        const k = 1 - smoothstep(crustSize - 0.1, crustSize + 0.05 + 0.1 * n.at(x, y), rn);
        return [mix(pink, crust, k), 0.92];
      },
      spots: spotsIn(rng, s, 10 + rng.int(10), 0.55, 0.9, [0.007, 0.011], [[182, 34, 40]], 0.9),
    };
  },
};

/** A random lesion of class `className` (an ISIC 2019 class name). */
export function designLesion(className: string, rng: Rng): LesionDesign {
  const designer = DESIGNERS[className];
  if (!designer) throw new Error(`no demo design for class ${className}`);
  return { spots: [], strokes: [], ...designer(rng) };
}
