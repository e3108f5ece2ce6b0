/**
 * Node set-up shared by the peers: a `navigator.gpu` from the `webgpu` package (Dawn, same Vulkan
 * ICD our Gpu picked), with the fixes onnxruntime-web needs on Dawn: `features` as real `Set`s
 * (ORT calls Set methods Dawn's setlike lacks), `queue.writeBuffer` given a copy of data that lives
 * in a SharedArrayBuffer (ORT's wasm heap), which Dawn refuses, and property writes forwarded to the
 * native object (Dawn's setters reject a proxy as `this`: "Invalid argument").
 */

type Obj = Record<string | symbol, unknown>;

/** A proxy that forwards everything to `target` (methods bound to it) except `overrides`. */
function wrap<T extends object>(target: T, overrides: Obj): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop in overrides) return overrides[prop];
      const v = Reflect.get(t, prop, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
    // Setters (ORT assigns device.onuncapturederror) must run on the native object, not the proxy.
    set(t, prop, value) {
      return Reflect.set(t, prop, value, t);
    },
  });
}

function unshared(data: BufferSource | SharedArrayBuffer): BufferSource {
  const buf = ArrayBuffer.isView(data) ? data.buffer : data;
  if (typeof SharedArrayBuffer === "undefined" || !(buf instanceof SharedArrayBuffer)) return data as BufferSource;
  const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  return view.slice();
}

function wrapDevice(device: GPUDevice): GPUDevice {
  const queue = device.queue;
  const wrappedQueue = wrap(queue, {
    writeBuffer: (buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) => {
      const copy = unshared(data);
      return queue.writeBuffer(buffer, offset, copy, dataOffset, size);
    },
  });
  return wrap(device, { features: new Set(device.features), queue: wrappedQueue });
}

function wrapAdapter(adapter: GPUAdapter): GPUAdapter {
  return wrap(adapter, {
    features: new Set(adapter.features),
    requestDevice: async (desc?: GPUDeviceDescriptor) => wrapDevice(await adapter.requestDevice(desc)),
  });
}

let installed: GPU | undefined;

/** Installs (once) a wrapped `navigator.gpu` on globalThis for peers that look for it there. */
export async function installNavigatorGpu(): Promise<GPU> {
  if (installed) return installed;
  const mod = (await import("webgpu")) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Obj)[k] = v;
  const gpu = mod.create([]);
  const wrapped = wrap(gpu, {
    requestAdapter: async (opts?: GPURequestAdapterOptions) => {
      const a = await gpu.requestAdapter(opts);
      return a ? wrapAdapter(a) : null;
    },
  });
  // Node 20 has no navigator; newer Node has a read-only one, so define the property.
  const nav = ((globalThis as Obj).navigator as Obj | undefined) ?? {};
  Object.defineProperty(nav, "gpu", { value: wrapped, configurable: true });
  if (!(globalThis as Obj).navigator) Object.defineProperty(globalThis, "navigator", { value: nav, configurable: true, writable: true });
  installed = wrapped;
  return wrapped;
}
