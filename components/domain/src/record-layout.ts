import { readU128, writeU64, writeU128 } from "./u128.ts";

/**
 * Fixed binary records (little-endian) described once, as a table of fields in their order, from
 * which both the writer and the reader come: each field's offset is the sum of the sizes before
 * it, so no offset is written by hand in two places. The ledger's TigerBeetle records and the
 * history store's order and trade slots are laid out this way.
 */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "u128" | "f64";

const SIZE: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, f64: 8 };

/** `[name, type]`, or `[bytes]` left as zeros (padding, or bytes the record's owner writes itself). */
export type FieldSpec = readonly [name: string, type: FieldType] | readonly [skip: number];

type Named<S> = S extends readonly [infer N extends string, infer T extends FieldType] ? [N, T] : never;
type ValueOf<T extends FieldType> = T extends "u64" | "u128" ? bigint : number;

/** The values of a record with the fields `S`: bigint for u64 and u128, number for the rest. */
export type RecordOf<S extends readonly FieldSpec[]> = {
  [F in Named<S[number]> as F[0]]: ValueOf<F[1]>;
};

interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly at: number;
}

export interface RecordLayout<S extends readonly FieldSpec[]> {
  /** Bytes a record takes (at least the fields' end; the rest is the owner's or zero). */
  readonly size: number;
  /** Where the fields end. */
  readonly end: number;
  readonly fields: readonly Field[];
  /** Each field's offset in the record. */
  readonly at: { readonly [K in keyof RecordOf<S>]: number };
}

export function recordLayout<const S extends readonly FieldSpec[]>(size: number, specs: S): RecordLayout<S> {
  const fields: Field[] = [];
  let end = 0;
  for (const spec of specs) {
    if (spec.length === 1) {
      end += spec[0];
      continue;
    }
    const [name, type] = spec;
    fields.push({ name, type, at: end });
    end += SIZE[type];
  }
  if (end > size) throw new RangeError(`fields take ${end} bytes, more than the record's ${size}`);
  const at = Object.fromEntries(fields.map((f) => [f.name, f.at])) as RecordLayout<S>["at"];
  return { size, end, fields, at };
}

export type RecordWriter<S extends readonly FieldSpec[]> = (
  values: RecordOf<S>,
  view: DataView,
  o: number,
) => void;
export type RecordReader<S extends readonly FieldSpec[]> = (view: DataView, o: number) => RecordOf<S>;

/** How a field of each type is written (`$v` the value) and read, at offset `$at` of the record. */
const CODE: Readonly<Record<FieldType, { readonly write: string; readonly read: string }>> = {
  u8: { write: "view.setUint8($at, $v)", read: "view.getUint8($at)" },
  u16: { write: "view.setUint16($at, $v, true)", read: "view.getUint16($at, true)" },
  u32: { write: "view.setUint32($at, $v, true)", read: "view.getUint32($at, true)" },
  u64: { write: "writeU64(view, $at, $v)", read: "view.getBigUint64($at, true)" },
  u128: { write: "writeU128(view, $at, $v)", read: "readU128(view, $at)" },
  f64: { write: "view.setFloat64($at, $v, true)", read: "view.getFloat64($at, true)" },
};

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The writer and the reader of `layout`'s records, compiled from its table into straight-line
 * functions: a loop over the table took twice the time on the ledger's path (which aims at a
 * million transfers a second), where V8 inlines a function that names each field and offset.
 * Names are checked to be identifiers, so the generated source holds only the table's names,
 * offsets and the calls above.
 */
export function recordCodec<S extends readonly FieldSpec[]>(
  layout: RecordLayout<S>,
): { readonly write: RecordWriter<S>; readonly read: RecordReader<S> } {
  const code = (template: string, { name, at }: Field) =>
    template.replace("$at", `o + ${at}`).replace("$v", `values.${name}`);
  for (const { name } of layout.fields)
    if (!IDENTIFIER.test(name)) throw new RangeError(`field name is not an identifier: ${name}`);
  const writes = layout.fields.map((f) => `${code(CODE[f.type].write, f)};`);
  const reads = layout.fields.map((f) => `${f.name}: ${code(CODE[f.type].read, f)},`);
  const compile = (fn: string) =>
    new Function("writeU64", "writeU128", "readU128", `"use strict"; return ${fn};`)(
      writeU64,
      writeU128,
      readU128,
    );
  return {
    write: compile(`function write(values, view, o) {\n${writes.join("\n")}\n}`),
    read: compile(`function read(view, o) {\nreturn {\n${reads.join("\n")}\n};\n}`),
  };
}
