/**
 * The small preprocessor our `.wgsl` files use, so variants never need WGSL assembled in TS:
 *   #include "include/file.wgsl"   inline a shared snippet (once per file)
 *   #if NAME / #ifdef NAME / #ifndef NAME / #else / #endif   keep lines when NAME is truthy / defined
 * and every whole-word occurrence of a define's NAME outside directives is replaced by its value
 * (e.g. `alias elem = ELEM;` with ELEM=f16). Output lines map back to (file, line) for error messages.
 */
export type Defines = Record<string, string | number | boolean>;

export interface PreprocessedShader {
  code: string;
  /** lineMap[i] = where output line i+1 came from. */
  lineMap: { file: string; line: number }[];
}

export function preprocessShader(file: string, readFile: (file: string) => string, defines: Defines): PreprocessedShader {
  const out: string[] = [];
  const lineMap: { file: string; line: number }[] = [];
  const included = new Set<string>();
  const names = Object.keys(defines).filter((k) => /^[A-Z_][A-Z0-9_]*$/.test(k));
  const substitute = names.length
    ? (line: string) => line.replace(new RegExp(`\\b(${names.join("|")})\\b`, "g"), (n) => String(defines[n]))
    : (line: string) => line;

  const expand = (name: string, stack: string[]) => {
    if (stack.includes(name)) throw new Error(`shaders/${name}: #include cycle via ${stack.join(" -> ")}`);
    const lines = readFile(name).split("\n");
    const keep: boolean[] = []; // one entry per open #if: is this branch active
    const active = () => keep.every(Boolean);
    lines.forEach((raw, idx) => {
      const line = raw.trimStart();
      const at = `shaders/${name}:${idx + 1}`;
      const directive = /^#(\w+)\s*(.*?)\s*$/.exec(line);
      if (directive) {
        const [, cmd, arg] = directive as unknown as [string, string, string];
        if (cmd === "include") {
          const m = /^"([^"]+)"$/.exec(arg);
          if (!m) throw new Error(`${at}: #include expects a quoted path, got ${arg}`);
          if (active() && !included.has(m[1]!)) {
            included.add(m[1]!);
            expand(m[1]!, [...stack, name]);
          }
        } else if (cmd === "if" || cmd === "ifdef" || cmd === "ifndef") {
          const value = defines[arg];
          keep.push(cmd === "ifdef" ? value !== undefined : cmd === "ifndef" ? value === undefined : Boolean(value) && value !== "0");
        } else if (cmd === "else") {
          if (!keep.length) throw new Error(`${at}: #else without #if`);
          keep.push(!keep.pop());
        } else if (cmd === "endif") {
          if (!keep.length) throw new Error(`${at}: #endif without #if`);
          keep.pop();
        } else {
          throw new Error(`${at}: unknown directive #${cmd}`);
        }
        return;
      }
      if (!active()) return;
      out.push(substitute(raw));
      lineMap.push({ file: name, line: idx + 1 });
    });
    if (keep.length) throw new Error(`shaders/${name}: ${keep.length} #if without #endif`);
  };
  expand(file, []);
  return { code: out.join("\n"), lineMap };
}
