import { WgslReflect, ResourceType } from "wgsl_reflect/wgsl_reflect.module.js";
import { readShaderText } from "#platform";
import type { GpuContext } from "./device.ts";
import { ShaderCompileError } from "./errors.ts";
import type { KernelSpec } from "./kernel.ts";
import { preprocessShader } from "./shader-preprocess.ts";
import { parseUniformType, type UniformLayout } from "./uniforms.ts";

/** One binding of a compiled kernel, as its WGSL declares it. */
export interface BindingSlot {
  name: string;
  binding: number;
  kind: "uniform" | "read-only-storage" | "storage";
}

/** A compiled pipeline and what reflection says about it. */
export interface CompiledKernel {
  label: string;
  file: string;
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
  slots: BindingSlot[];
  /** Layout of the single uniform struct, if the kernel has one. */
  uniforms?: { name: string; layout: UniformLayout };
  workgroupSize: [number, number, number];
}

/** Reflects group 0 of a preprocessed shader into binding slots and the uniform layout. */
export function reflectKernel(code: string, where: string): Pick<CompiledKernel, "slots" | "uniforms" | "workgroupSize"> {
  const reflect = new WgslReflect(code);
  const groups = reflect.getBindGroups();
  if (groups.length > 1) throw new Error(`${where}: kernels must use only @group(0), found ${groups.length} groups`);
  const slots: BindingSlot[] = [];
  let uniforms: CompiledKernel["uniforms"];
  for (const v of groups[0] ?? []) {
    if (!v) continue;
    if (v.resourceType === ResourceType.Uniform) {
      slots.push({ name: v.name, binding: v.binding, kind: "uniform" });
      if (uniforms) throw new Error(`${where}: more than one uniform buffer (${uniforms.name}, ${v.name})`);
      const members = v.members ?? [];
      uniforms = {
        name: v.name,
        layout: {
          size: Math.ceil(v.size / 16) * 16,
          fields: members.map((m) => ({ name: m.name, offset: m.offset, ...parseUniformType(m.type.name, m.format?.name) })),
        },
      };
    } else if (v.resourceType === ResourceType.Storage) {
      slots.push({ name: v.name, binding: v.binding, kind: v.access === "read_write" ? "storage" : "read-only-storage" });
    } else {
      throw new Error(`${where}: binding ${v.name} is a ${ResourceType[v.resourceType]}; compute kernels bind buffers only`);
    }
  }
  const entry = reflect.entry.compute[0];
  if (!entry) throw new Error(`${where}: no @compute entry point`);
  const wgAttr = entry.attributes?.find((a) => a.name === "workgroup_size");
  const raw = wgAttr ? (Array.isArray(wgAttr.value) ? wgAttr.value : [wgAttr.value]) : [1];
  const wg = [0, 1, 2].map((i) => Number(raw[i] ?? 1)) as [number, number, number];
  return { slots: slots.sort((a, b) => a.binding - b.binding), uniforms, workgroupSize: wg };
}

/**
 * Compiles kernels on first use and caches them by (file, label). A compile error is reported with
 * the `.wgsl` file and line it came from (through #include), never as an opaque pipeline error.
 */
export class KernelRegistry {
  private cache = new Map<string, Promise<CompiledKernel>>();
  /** Kernels compiled so far (tests and benches report it). */
  compiled = 0;

  /** `readFile` reads a path under shaders/ (tests inject broken shaders through it). */
  constructor(
    private readonly ctx: GpuContext,
    private readonly readFile: (file: string) => string = readShaderText,
  ) {}

  get<Key>(spec: KernelSpec<Key>, key: Key): Promise<CompiledKernel> {
    const label = spec.label(key);
    const cacheKey = `${spec.file}|${label}`;
    let hit = this.cache.get(cacheKey);
    if (!hit) {
      hit = this.compile(spec, key, label);
      this.cache.set(cacheKey, hit);
      hit.catch(() => this.cache.delete(cacheKey));
    }
    return hit;
  }

  private async compile<Key>(spec: KernelSpec<Key>, key: Key, label: string): Promise<CompiledKernel> {
    const { device } = this.ctx;
    const defines = spec.defines(key);
    const { code, lineMap } = preprocessShader(spec.file, this.readFile, defines);
    const where = `kernel ${label} (shaders/${spec.file})`;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code, label });
    const info = await module.getCompilationInfo();
    const scopeError = await device.popErrorScope();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length || scopeError) {
      const messages = errors.map((m) => {
        const src = lineMap[m.lineNum - 1] ?? { file: spec.file, line: m.lineNum };
        return { file: src.file, line: src.line, column: m.linePos, text: m.message };
      });
      if (!messages.length) messages.push({ file: spec.file, line: 0, column: 0, text: scopeError!.message });
      throw new ShaderCompileError(label, messages);
    }
    const reflected = reflectKernel(code, where);
    const bindGroupLayout = device.createBindGroupLayout({
      label,
      // The uniform slice moves with every dispatch; as a dynamic offset it leaves the bind group reusable (runtime.ts).
      entries: reflected.slots.map((s) => ({ binding: s.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: s.kind, hasDynamicOffset: s.kind === "uniform" } })),
    });
    device.pushErrorScope("validation");
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label,
        layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label }),
        compute: { module, entryPoint: spec.entryPoint ?? "main" },
      });
    } catch (e) {
      await device.popErrorScope();
      throw new ShaderCompileError(label, [{ file: spec.file, line: 0, column: 0, text: `pipeline creation failed: ${(e as Error).message}` }]);
    }
    const pipelineError = await device.popErrorScope();
    if (pipelineError) throw new ShaderCompileError(label, [{ file: spec.file, line: 0, column: 0, text: pipelineError.message }]);
    this.compiled++;
    return { label, file: spec.file, pipeline, bindGroupLayout, ...reflected };
  }
}
