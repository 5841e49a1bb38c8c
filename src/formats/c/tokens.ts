// The C tokenizer: identifiers, numbers, string and character literals, punctuators, with the
// line of each token and whether it starts a logical line (where a directive may start).
import { InputError } from "../../errors.js";


export type TokKind = "id" | "num" | "str" | "chr" | "punct";
export interface Tok {
  k: TokKind;
  v: string;
  line: number;
  /** First token of a logical line (where a directive may start). */
  bol: boolean;
  /** Preceded by white space (tells `#define F(x)` from `#define F (x)`). */
  sp?: boolean;
  /** Macros whose expansion produced this token: they are not expanded again in it. */
  hide?: ReadonlySet<string>;
}

const PUNCT3 = ["...", "<<=", ">>="];
const PUNCT2 = ["##", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "++", "--", "+=", "-=",
  "*=", "/=", "%=", "&=", "|=", "^="];

export function tokenize(src: string, where: (line: number) => string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let bol = true;
  let sp = false;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === "\n") {
      line++;
      bol = true;
      sp = true;
      i++;
      continue;
    }
    if (c === "\\" && (src[i + 1] === "\n" || (src[i + 1] === "\r" && src[i + 2] === "\n"))) {
      i += src[i + 1] === "\n" ? 2 : 3;
      line++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      sp = true;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new InputError("unterminated /* comment", where(line));
      for (let j = i; j < end; j++) if (src[j] === "\n") line++;
      i = end + 2;
      sp = true;
      continue;
    }
    const start = i;
    const tokLine = line;
    let k: TokKind;
    if (/[A-Za-z_$]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(src[i])) i++;
      k = "id";
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < n) {
        if (/[eEpP]/.test(src[i]) && (src[i + 1] === "+" || src[i + 1] === "-")) i += 2;
        else if (/[0-9A-Za-z_.]/.test(src[i])) i++;
        else break;
      }
      k = "num";
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === "\n") throw new InputError(`unterminated ${c === '"' ? "string" : "character"} literal`, where(line));
        i += src[i] === "\\" ? 2 : 1;
      }
      if (i >= n) throw new InputError(`unterminated ${c === '"' ? "string" : "character"} literal`, where(line));
      i++;
      k = c === '"' ? "str" : "chr";
    } else {
      const three = src.slice(i, i + 3);
      const two = src.slice(i, i + 2);
      i += PUNCT3.includes(three) ? 3 : PUNCT2.includes(two) ? 2 : 1;
      k = "punct";
    }
    out.push({ k, v: src.slice(start, i), line: tokLine, bol, sp });
    bol = false;
    sp = false;
  }
  return out;
}

