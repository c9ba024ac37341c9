// Procedural geometry for Hearth's generated art: everything the client
// shows is built here from code (no downloaded models). A geometry is plain
// arrays: pos/nrm (xyz), uv (st), col (rgb 0..1) and idx (triangles).

/** Seeded PRNG (mulberry32) so every build produces the same assets. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function empty() {
  return { pos: [], nrm: [], uv: [], col: [], idx: [] };
}

export function merge(...gs) {
  const out = empty();
  for (const g of gs) {
    const base = out.pos.length / 3;
    out.pos.push(...g.pos);
    out.nrm.push(...g.nrm);
    out.uv.push(...g.uv);
    out.col.push(...g.col);
    for (const i of g.idx) out.idx.push(i + base);
  }
  return out;
}

/** transform moves a geometry: scale s (number or [x,y,z]), yaw rotation, then translation. */
export function transform(g, { s = 1, yaw = 0, t = [0, 0, 0] } = {}) {
  const [sx, sy, sz] = Array.isArray(s) ? s : [s, s, s];
  const c = Math.cos(yaw);
  const sn = Math.sin(yaw);
  const out = { ...g, pos: g.pos.slice(), nrm: g.nrm.slice() };
  for (let i = 0; i < g.pos.length; i += 3) {
    const x = g.pos[i] * sx;
    const y = g.pos[i + 1] * sy;
    const z = g.pos[i + 2] * sz;
    out.pos[i] = x * c + z * sn + t[0];
    out.pos[i + 1] = y + t[1];
    out.pos[i + 2] = -x * sn + z * c + t[2];
    let nx = g.nrm[i] / sx;
    const ny = g.nrm[i + 1] / sy;
    let nz = g.nrm[i + 2] / sz;
    const l = Math.hypot(nx, ny, nz) || 1;
    nx /= l;
    nz /= l;
    out.nrm[i] = nx * c + nz * sn;
    out.nrm[i + 1] = ny / l;
    out.nrm[i + 2] = -nx * sn + nz * c;
  }
  return out;
}

export function box(w, h, d, color, [cx, cy, cz] = [0, 0, 0]) {
  const g = empty();
  const faces = [
    [[1, 0, 0], [0, 0, -1], [0, 1, 0]],
    [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],
    [[0, 1, 0], [1, 0, 0], [0, 0, -1]],
    [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]],
    [[0, 0, -1], [-1, 0, 0], [0, 1, 0]],
  ];
  const half = [w / 2, h / 2, d / 2];
  for (const [n, u, v] of faces) {
    const base = g.pos.length / 3;
    for (const [a, b] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      for (let k = 0; k < 3; k++) g.pos.push((n[k] + u[k] * a + v[k] * b) * half[k] + [cx, cy, cz][k]);
      g.nrm.push(...n);
      g.uv.push((a + 1) / 2, (b + 1) / 2);
      g.col.push(...color);
    }
    g.idx.push(base, base + 1, base + 2, base, base + 2, base + 3);
  }
  return g;
}

/**
 * lathe revolves a profile of [radius, y] points around the Y axis.
 * Smooth normals come from the profile's slope.
 */
export function lathe(profile, segments, color, { cap = false, uvRepeat = 1 } = {}) {
  const g = empty();
  const rows = profile.length;
  for (let j = 0; j < rows; j++) {
    const [r, y] = profile[j];
    const prev = profile[Math.max(0, j - 1)];
    const next = profile[Math.min(rows - 1, j + 1)];
    const dr = next[0] - prev[0];
    const dy = next[1] - prev[1];
    // Normal of the profile curve in (r, y): perpendicular to its tangent.
    let nr = dy;
    let ny = -dr;
    const l = Math.hypot(nr, ny) || 1;
    nr /= l;
    ny /= l;
    for (let i = 0; i <= segments; i++) {
      const a = (i / segments) * Math.PI * 2;
      const c = Math.cos(a);
      const s = Math.sin(a);
      g.pos.push(r * c, y, r * s);
      g.nrm.push(nr * c, ny, nr * s);
      g.uv.push((i / segments) * uvRepeat, j / (rows - 1));
      g.col.push(...color);
    }
  }
  const w = segments + 1;
  for (let j = 0; j < rows - 1; j++) {
    for (let i = 0; i < segments; i++) {
      const a = j * w + i;
      const b = a + w;
      g.idx.push(a, b, a + 1, a + 1, b, b + 1);
    }
  }
  if (cap) {
    const [r, y] = profile[rows - 1];
    const center = g.pos.length / 3;
    g.pos.push(0, y, 0);
    g.nrm.push(0, 1, 0);
    g.uv.push(0.5, 0.5);
    g.col.push(...color);
    const ring = g.pos.length / 3;
    for (let i = 0; i <= segments; i++) {
      const a = (i / segments) * Math.PI * 2;
      g.pos.push(r * Math.cos(a), y, r * Math.sin(a));
      g.nrm.push(0, 1, 0);
      g.uv.push(0.5 + Math.cos(a) / 2, 0.5 + Math.sin(a) / 2);
      g.col.push(...color);
    }
    for (let i = 0; i < segments; i++) g.idx.push(center, ring + i + 1, ring + i);
  }
  return g;
}

/** sphere (as a lathe of a half circle), optionally squashed and displaced by seeded noise. */
export function sphere(r, wseg, hseg, color, { center = [0, 0, 0], squash = 1, bumpy = 0, seed = 1 } = {}) {
  const profile = [];
  for (let j = 0; j <= hseg; j++) {
    const a = -Math.PI / 2 + (j / hseg) * Math.PI;
    profile.push([Math.max(1e-4, Math.cos(a) * r), Math.sin(a) * r * squash]);
  }
  let g = lathe(profile, wseg, color);
  if (bumpy > 0) {
    const rand = rng(seed);
    const bumps = Array.from({ length: 7 }, () => [rand() * 6.28, rand() * 3.14, 1 + rand() * 2.5, rand()]);
    for (let i = 0; i < g.pos.length; i += 3) {
      const x = g.pos[i];
      const y = g.pos[i + 1];
      const z = g.pos[i + 2];
      const th = Math.atan2(z, x);
      const ph = Math.atan2(y, Math.hypot(x, z));
      let f = 1;
      for (const [a, b, k, w] of bumps) f += Math.sin(th * k + a) * Math.cos(ph * k + b) * bumpy * (0.5 + w) * 0.5;
      g.pos[i] = x * f;
      g.pos[i + 1] = y * f;
      g.pos[i + 2] = z * f;
    }
    g = recomputeNormals(g);
  }
  return transform(g, { t: center });
}

/** recomputeNormals averages face normals per vertex (for displaced shapes). */
export function recomputeNormals(g) {
  const n = new Float64Array(g.pos.length);
  for (let i = 0; i < g.idx.length; i += 3) {
    const [a, b, c] = [g.idx[i] * 3, g.idx[i + 1] * 3, g.idx[i + 2] * 3];
    const ux = g.pos[b] - g.pos[a], uy = g.pos[b + 1] - g.pos[a + 1], uz = g.pos[b + 2] - g.pos[a + 2];
    const vx = g.pos[c] - g.pos[a], vy = g.pos[c + 1] - g.pos[a + 1], vz = g.pos[c + 2] - g.pos[a + 2];
    const fx = uy * vz - uz * vy, fy = uz * vx - ux * vz, fz = ux * vy - uy * vx;
    for (const k of [a, b, c]) {
      n[k] += fx;
      n[k + 1] += fy;
      n[k + 2] += fz;
    }
  }
  const nrm = [];
  for (let i = 0; i < n.length; i += 3) {
    const l = Math.hypot(n[i], n[i + 1], n[i + 2]) || 1;
    nrm.push(n[i] / l, n[i + 1] / l, n[i + 2] / l);
  }
  return { ...g, nrm };
}

/** plane is a subdivided ground quad on y = 0 with uv repeating every `tile` metres. */
export function plane(w, d, segs, color, tile = 4) {
  const g = empty();
  for (let j = 0; j <= segs; j++) {
    for (let i = 0; i <= segs; i++) {
      const x = (i / segs - 0.5) * w;
      const z = (j / segs - 0.5) * d;
      g.pos.push(x, 0, z);
      g.nrm.push(0, 1, 0);
      g.uv.push(x / tile, z / tile);
      g.col.push(...color);
    }
  }
  const row = segs + 1;
  for (let j = 0; j < segs; j++) {
    for (let i = 0; i < segs; i++) {
      const a = j * row + i;
      g.idx.push(a, a + row, a + 1, a + 1, a + row, a + row + 1);
    }
  }
  return g;
}

export function triangles(g) {
  return g.idx.length / 3;
}
