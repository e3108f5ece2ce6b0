/**
 * A minimal protobuf writer for the few ONNX messages a one-node model needs (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto), so the ORT peer can be handed models built
 * in memory. Field numbers are those of onnx.proto; only the fields we set are written.
 */

/** ONNX TensorProto.DataType values we use. */
export const OnnxType = { FLOAT: 1, UINT8: 2 } as const;

class Writer {
  private parts: number[] = [];

  varint(v: number): this {
    // Non-negative values only (dims, enums, counts); JS numbers are exact up to 2^53.
    let x = v;
    while (x >= 0x80) {
      this.parts.push((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.parts.push(x);
    return this;
  }
  tag(field: number, wire: 0 | 2): this {
    return this.varint(field * 8 + wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export type AttrValue = number | number[];

export interface OnnxNode {
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

export interface OnnxValue {
  name: string;
  dims: number[];
  type: number;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

const ATTR_INT = 2;
const ATTR_INTS = 7;

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().string(1, name);
  if (typeof v === "number") return w.int(3, v).int(20, ATTR_INT);
  for (const x of v) w.int(8, x);
  return w.int(20, ATTR_INTS);
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, v.type).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** Serializes a one-graph model: IR version 8, default opset 17 plus com.microsoft 1. */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.string(1, x);
    for (const x of n.outputs) node.string(2, x);
    node.string(3, `${n.opType}_${i}`).string(4, n.opType);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    if (n.domain) node.string(7, n.domain);
    graph.message(1, node);
  });
  graph.string(2, "bench");
  for (const t of g.initializers) {
    const tensor = new Writer();
    for (const d of t.dims) tensor.int(1, d);
    tensor.int(2, t.type).string(8, t.name).bytes(9, t.data);
    graph.message(5, tensor);
  }
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new Writer()
    .int(1, 8)
    .string(2, "qsched-gpu kernels-bench")
    .message(7, graph)
    .message(8, new Writer().string(1, "").int(2, 17))
    .message(8, new Writer().string(1, "com.microsoft").int(2, 1))
    .finish();
}
