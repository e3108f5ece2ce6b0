/** One member of a WGSL uniform struct as reflected: byte offset, scalar kind and component count. */
export interface UniformField {
  name: string;
  offset: number;
  scalar: "u32" | "i32" | "f32";
  components: number;
}

export interface UniformLayout {
  /** Struct size rounded up to 16 bytes (uniform buffer binding sizes are multiples of 16). */
  size: number;
  fields: UniformField[];
}

const SCALARS: Record<string, UniformField["scalar"]> = { u32: "u32", i32: "i32", f32: "f32" };

/** Parses a reflected member type name like `u32`, `vec4<f32>`, `vec2u` into scalar kind and width. */
export function parseUniformType(typeName: string, formatName?: string): { scalar: UniformField["scalar"]; components: number } {
  if (SCALARS[typeName]) return { scalar: SCALARS[typeName]!, components: 1 };
  const short = /^vec([234])([uif])$/.exec(typeName);
  if (short) return { scalar: ({ u: "u32", i: "i32", f: "f32" } as const)[short[2] as "u" | "i" | "f"], components: Number(short[1]) };
  const long = /^vec([234])$/.exec(typeName);
  if (long && formatName && SCALARS[formatName]) return { scalar: SCALARS[formatName]!, components: Number(long[1]) };
  throw new Error(`uniform member type ${typeName}${formatName ? `<${formatName}>` : ""} is not supported (use u32/i32/f32 scalars or vectors)`);
}

/**
 * Packs named values into a uniform buffer image following the reflected layout. Every field must
 * be given (a forgotten shape parameter would otherwise silently read as 0), and no extras.
 */
export function packUniforms(layout: UniformLayout, values: Record<string, number | readonly number[]>, where: string): ArrayBuffer {
  const buf = new ArrayBuffer(layout.size);
  const dv = new DataView(buf);
  const known = new Set(layout.fields.map((f) => f.name));
  for (const k of Object.keys(values)) {
    if (!known.has(k)) throw new Error(`${where}: uniform "${k}" is not a member of the shader's uniform struct (members: ${[...known].join(", ")})`);
  }
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined) throw new Error(`${where}: uniform "${f.name}" was not given`);
    const arr = typeof v === "number" ? [v] : v;
    if (arr.length !== f.components) throw new Error(`${where}: uniform "${f.name}" has ${f.components} components, got ${arr.length}`);
    arr.forEach((x, i) => {
      const at = f.offset + 4 * i;
      if (f.scalar === "f32") dv.setFloat32(at, x, true);
      else {
        if (!Number.isInteger(x)) throw new Error(`${where}: uniform "${f.name}" is ${f.scalar}, got non-integer ${x}`);
        if (f.scalar === "u32") {
          if (x < 0 || x > 0xffffffff) throw new Error(`${where}: uniform "${f.name}" = ${x} does not fit u32`);
          dv.setUint32(at, x, true);
        } else dv.setInt32(at, x, true);
      }
    });
  }
  return buf;
}
