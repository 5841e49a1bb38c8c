import { describe, it, expect } from "vitest";
import {
  parseJson, placeOf, placeOfRef, expectObject, expectArray, expectString, expectUint, expectBoolean,
  getField, getOptional, requireField, rejectUnknownFields, rejectDuplicates, escapePointerToken,
  type JObject, type JArray, type JNumber,
} from "../src/policy/json.js";
import { InputError } from "../src/errors.js";
import { errorOf } from "./support/errors.js";


const TEXT = `{
  "a/b": { "x~y": [1, 2,
    18446744073709551615] },
  "s": "str",
  "t": true,
  "n": null,
  "f": 1.5,
  "e": 1e3,
  "neg": -7
}`;

describe("parseJson: a located tree", () => {
  const doc = parseJson(TEXT, "f.json");
  const root = doc.root as JObject;

  it("gives every node its JSON pointer (RFC 6901 escaping) and 1-based line", () => {
    expect(root.pointer).toBe("");
    expect(root.line).toBe(1);
    const ab = root.byKey.get("a/b")!;
    expect(ab.pointer).toBe("/a~1b");
    expect(ab.line).toBe(2);
    const arr = (ab.value as JObject).byKey.get("x~y")!.value as JArray;
    expect(arr.pointer).toBe("/a~1b/x~0y");
    expect(arr.items.map((i) => i.pointer)).toEqual(["/a~1b/x~0y/0", "/a~1b/x~0y/1", "/a~1b/x~0y/2"]);
    expect(arr.items[2].line).toBe(3);
    expect(escapePointerToken("~/")).toBe("~0~1");
  });

  it("reads integers exactly as BigInt from the source text, never through a double", () => {
    const big = ((root.byKey.get("a/b")!.value as JObject).byKey.get("x~y")!.value as JArray).items[2] as JNumber;
    expect(big.text).toBe("18446744073709551615");
    expect(big.integer).toBe(18446744073709551615n);
    expect(expectUint(big, (1n << 64n) - 1n)).toBe(0xffffffffffffffffn);
    // JSON.parse would have rounded it.
    expect(BigInt(JSON.parse("18446744073709551615"))).not.toBe(18446744073709551615n);
    expect((root.byKey.get("neg")!.value as JNumber).integer).toBe(-7n);
    expect((root.byKey.get("f")!.value as JNumber).integer).toBeUndefined();
    expect((root.byKey.get("e")!.value as JNumber).integer).toBeUndefined();
  });

  it("formats places as FILE:LINE (POINTER), the document as (root)", () => {
    expect(placeOf(root)).toBe("f.json:1 (root)");
    expect(placeOf(root.byKey.get("s")!.value)).toBe("f.json:4 (/s)");
    expect(placeOfRef({ file: "g", pointer: "/x", line: 3 })).toBe("g:3 (/x)");
    expect(placeOfRef({ file: "g" })).toBe("g");
    expect(placeOfRef({ file: "g", line: 2 })).toBe("g:2");
  });

  it("typed access throws InputErrors at the value's place", () => {
    const s = root.byKey.get("s")!.value;
    expect(expectString(s)).toBe("str");
    expect(expectBoolean(root.byKey.get("t")!.value)).toBe(true);
    let e = errorOf(() => expectObject(s));
    expect(e.where).toBe("f.json:4 (/s)");
    expect(e.message).toBe(`"s" must be an object, got the string "str"`);
    e = errorOf(() => expectArray(root.byKey.get("t")!.value, "the filter"));
    expect(e.message).toBe("the filter must be an array, got true");
    e = errorOf(() => expectUint(root.byKey.get("f")!.value, 10n));
    expect(e.message).toMatch(/must be an integer written without fraction or exponent, got 1.5/);
    expect(e.where).toBe("f.json:7 (/f)");
    e = errorOf(() => expectUint(root.byKey.get("e")!.value, 10000n));
    expect(e.message).toMatch(/got 1e3/);
    e = errorOf(() => expectUint(root.byKey.get("neg")!.value, 10n));
    expect(e.message).toMatch(/must not be negative, got -7/);
    e = errorOf(() => expectUint((root.byKey.get("a/b")!.value as JObject), 10n));
    expect(e.message).toMatch(/must be an integer, got an object/);
    const arr = ((root.byKey.get("a/b")!.value as JObject).byKey.get("x~y")!.value as JArray);
    e = errorOf(() => expectUint(arr.items[2], 0xffffffffn));
    expect(e.message).toMatch(/out of range: 18446744073709551615 \(allowed 0..4294967295 = 0xffffffff\)/);
    expect(e.where).toBe("f.json:3 (/a~1b/x~0y/2)");
    e = errorOf(() => expectString(arr.items[0]));
    expect(e.message).toBe("element 0 must be a string, got the number 1");
  });

  it("field helpers: null as absent, required and unknown fields", () => {
    expect(getField(root, "n")?.kind).toBe("null");
    expect(getOptional(root, "n")).toBeUndefined();
    expect(getOptional(root, "zzz")).toBeUndefined();
    let e = errorOf(() => requireField(root, "zzz", "the profile"));
    expect(e.message).toBe(`the profile is missing the required field "zzz"`);
    expect(e.where).toBe("f.json:1 (root)");
    e = errorOf(() => rejectUnknownFields(root, ["a/b", "s", "t", "n", "f", "e"], "the thing"));
    expect(e.message).toBe(`unknown field "neg" in the thing (accepted: a/b, s, t, n, f, e)`);
    expect(e.where).toBe("f.json:9 (/neg)");
  });
});

describe("parseJson: duplicates and syntax", () => {
  it("keeps duplicate keys, lists them, and looks up the last one", () => {
    const doc = parseJson(`{"a": 1,\n "b": {"c": 1, "c": 2},\n "a": 3}`, "d.json");
    const root = doc.root as JObject;
    expect(root.members.map((m) => m.key)).toEqual(["a", "b", "a"]);
    expect((getField(root, "a") as JNumber).integer).toBe(3n);
    expect(doc.duplicates.map((d) => [d.key, d.first.line, d.later.line, d.later.pointer])).toEqual([
      ["c", 2, 2, "/b/c"],
      ["a", 1, 3, "/a"],
    ]);
    const e = errorOf(() => rejectDuplicates(doc));
    expect(e.message).toBe(`duplicate field "c" (first given on line 2)`);
    expect(e.where).toBe("d.json:2 (/b/c)");
  });

  it("reports syntax errors at FILE:LINE:COLUMN", () => {
    let e = errorOf(() => parseJson(`{\n  "a": 1,\n}`, "bad.json"));
    expect(e.where).toBe("bad.json:3:1");
    expect(e.message).toMatch(/^invalid JSON: /);
    e = errorOf(() => parseJson(`{"a": 1} // comment`, "c.json"));
    expect(e.message).toMatch(/invalid JSON/);
    e = errorOf(() => parseJson("  \n", "empty.json"));
    expect(e.message).toMatch(/is empty/);
    e = errorOf(() => parseJson(`{"a": NaN}`, "n.json"));
    expect(e.where).toBe("n.json:1:7");
  });

  it("accepts a BOM and keeps exact offsets after it", () => {
    const doc = parseJson(`\uFEFF{"v": 12345678901234567890}`, "bom.json");
    expect(((doc.root as JObject).byKey.get("v")!.value as JNumber).integer).toBe(12345678901234567890n);
  });

  it("refuses absurd nesting with an InputError, not a crash", () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const e = errorOf(() => parseJson(deep, "deep.json"));
    expect(e.message).toMatch(/too deep|invalid JSON/);
  });
});
