// Materials per quality preset: the generated models carry PBR materials;
// lower presets swap them for cheaper shading models with the same maps
// and vertex colours.
import * as THREE from "three";
import type { Preset } from "./presets";

export type AnyMaterial = THREE.MeshLambertMaterial | THREE.MeshPhongMaterial | THREE.MeshStandardMaterial;

export function materialFor(src: THREE.MeshStandardMaterial, kind: Preset["material"], color?: THREE.ColorRepresentation): AnyMaterial {
  const base = {
    map: src.map,
    vertexColors: true,
    color: color ?? 0xffffff,
  };
  switch (kind) {
    case "lambert":
      return new THREE.MeshLambertMaterial(base);
    case "phong":
      return new THREE.MeshPhongMaterial({ ...base, shininess: 12, specular: 0x111111 });
    case "standard":
      return new THREE.MeshStandardMaterial({ ...base, roughness: src.roughness, metalness: src.metalness });
  }
}

/** prepareTexture sets the repeat wrapping the generated ground needs. */
export function prepareTexture(t: THREE.Texture | null, anisotropy: number): void {
  if (!t) return;
  t.wrapS = THREE.RepeatWrapping;
  t.wrapT = THREE.RepeatWrapping;
  t.anisotropy = anisotropy;
  t.colorSpace = THREE.SRGBColorSpace;
  t.needsUpdate = true;
}
