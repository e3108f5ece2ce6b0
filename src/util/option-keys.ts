/**
 * Option bags are checked for unknown keys: a misspelt key would otherwise be ignored without a word and the
 * default used instead. `aliases` maps other libraries' names (e.g. diffusers' `guidance_scale`) to ours for the
 * hint; otherwise a key equal to one of ours but for case and underscores (`batch_size`) is suggested.
 */
export function checkOptionKeys(where: string, options: object, known: readonly string[], aliases: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const loose = key.toLowerCase().replace(/_/g, "");
    const hint = aliases[key] ?? known.find((k) => k.toLowerCase() === loose);
    throw new Error(`${where}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; options: ${known.join(", ")}`);
  }
}

/** Compile-time completeness of a key list: `true` only when `K` names every key of `T`. */
export type ListsEveryKey<T, K extends readonly PropertyKey[]> = [Exclude<keyof T, K[number]>] extends [never] ? true : never;
