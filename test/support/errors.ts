// Runs `f`, expects it to throw an InputError, and returns it for assertions on its message and
// place.
import { expect } from "vitest";
import { InputError } from "../../src/errors.js";

export function errorOf(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}
