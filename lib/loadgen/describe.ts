/** Formatting of received values for option-error messages. */

/** Describes a received value for an error message: numbers as written, strings quoted, others by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'string':
      return JSON.stringify(value);
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
