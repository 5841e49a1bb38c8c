// Lookup tables indexed by names that come from input (actions, operators, arch names, errno
// names, constants, C macro names...). A plain object literal inherits `constructor`,
// `toString`, `__proto__`, `hasOwnProperty`... from Object.prototype, so `TABLE[name]` on such a
// name returns a function instead of "unknown". Every such table is built here without a
// prototype and frozen: only its own entries exist, and `name in TABLE` means what it says.

/** A frozen copy of `entries` with no prototype: lookups see only its own keys. */
export function ownTable<V>(entries: Record<string, V>): Readonly<Record<string, V>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, V>, entries));
}
