/**
 * HAProxy 2.6's typed field output, shared by `show info` and `show stat` in their `typed` and `json` forms: the
 * three tag letters (origin, nature, scope) of a field, the value types, and how one field prints in each form.
 */

/** A field's tag letters as HAProxy prints them in the typed form (`MGP`: metric, gauge, process). */
export type FieldTags = `${'M' | 'S' | 'K' | 'C' | 'P'}${'a' | 'A' | 'C' | 'D' | 'G' | 'L' | 'M' | 'N' | 'O' | 'R'}${'P' | 'S'}`;

/** HAProxy's value types in these forms. */
export type FieldType = 'str' | 's32' | 'u32' | 'u64' | 'flt';

const ORIGIN: Readonly<Record<string, string>> = { M: 'Metric', S: 'Status', K: 'Key', C: 'Config', P: 'Product' };
const NATURE: Readonly<Record<string, string>> = {
  a: 'Avg', A: 'Age', C: 'Counter', D: 'Duration', G: 'Gauge', L: 'Limit', M: 'Max', N: 'Name', O: 'Output', R: 'Rate',
};
const SCOPE: Readonly<Record<string, string>> = { P: 'Process', S: 'Service' };

/** One field with its value, ready to print. */
export interface TypedField {
  readonly pos: number;
  readonly name: string;
  readonly tags: FieldTags;
  readonly type: FieldType;
  readonly value: string | number;
}

/** The `tags` object of the JSON form. */
export function jsonTags(tags: FieldTags): { origin: string | undefined; nature: string | undefined; scope: string | undefined } {
  return { origin: ORIGIN[tags[0] ?? ''], nature: NATURE[tags[1] ?? ''], scope: SCOPE[tags[2] ?? ''] };
}

/** The `value` object of the JSON form: a number for every numeric type, a string for `str`. */
export function jsonValue(f: TypedField): { type: FieldType; value: string | number } {
  return { type: f.type, value: f.type === 'str' ? String(f.value) : Number(f.value) };
}

/** The typed form's `<tags>:<type>:<value>` tail of a line (the caller prints the position prefix). */
export function typedTail(f: TypedField): string {
  return `${f.tags}:${f.type}:${f.value}`;
}
