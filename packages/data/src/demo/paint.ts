import type { Rng } from '@skingan/core';

/** An RGB colour with channels in 0–255. */
export type Rgb = [number, number, number];

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function jitter(c: Rgb, rng: Rng, amount: number): Rgb {
  const d = (rng.float() * 2 - 1) * amount;
  return [c[0] + d + (rng.float() - 0.5) * amount, c[1] + d, c[2] + d + (rng.float() - 0.5) * amount];
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** Smooth 2-D value noise in [0, 1] with a given number of cells across the unit square. */
export class ValueNoise {
  private readonly grid: Float32Array;
  constructor(
    rng: Rng,
    private readonly cells: number,
  ) {
    this.grid = new Float32Array((cells + 2) * (cells + 2));
    for (let i = 0; i < this.grid.length; i++) this.grid[i] = rng.float();
  }

  /** Noise at (x, y) in [0, 1]². */
  at(x: number, y: number): number {
    const n = this.cells;
    const gx = Math.min(n, Math.max(0, x * n));
    const gy = Math.min(n, Math.max(0, y * n));
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const fx = smoothstep(0, 1, gx - ix);
    const fy = smoothstep(0, 1, gy - iy);
    const row = n + 2;
    const v = (i: number, j: number) => this.grid[j * row + i]!;
    const top = v(ix, iy) + (v(ix + 1, iy) - v(ix, iy)) * fx;
    const bottom = v(ix, iy + 1) + (v(ix + 1, iy + 1) - v(ix, iy + 1)) * fx;
    return top + (bottom - top) * fy;
  }
}

/** A polyline (points in [0, 1]²) drawn as a soft stroke. */
export interface Stroke {
  points: [number, number][];
  width: number;
  color: Rgb;
  alpha: number;
}

export const stroke = (points: [number, number][], width: number, color: Rgb, alpha: number): Stroke => ({
  points,
  width,
  color,
  alpha,
});

/** A random-walk curve: vessels, hairs, fissures. */
export function randomWalk(
  rng: Rng,
  start: [number, number],
  steps: number,
  stepLength: number,
  turn: number,
): [number, number][] {
  let angle = rng.float() * 2 * Math.PI;
  const pts: [number, number][] = [start];
  let [x, y] = start;
  for (let i = 0; i < steps; i++) {
    angle += (rng.float() * 2 - 1) * turn;
    x += Math.cos(angle) * stepLength;
    y += Math.sin(angle) * stepLength;
    pts.push([x, y]);
  }
  return pts;
}

/** Distance from (x, y) to the polyline. */
export function distanceToPolyline(x: number, y: number, pts: readonly [number, number][]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 1; i < pts.length; i++) {
    const [ax, ay] = pts[i - 1]!;
    const [bx, by] = pts[i]!;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy || 1e-12;
    const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2));
    const ex = ax + t * dx - x;
    const ey = ay + t * dy - y;
    best = Math.min(best, ex * ex + ey * ey);
  }
  return Math.sqrt(best);
}
