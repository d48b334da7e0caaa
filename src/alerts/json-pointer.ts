/** An RFC 6901 JSON pointer to a path in a JSON document (`~` and `/` escaped). */
export function toPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part) => '/' + String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}
