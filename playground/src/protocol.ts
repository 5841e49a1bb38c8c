// Messages between the page (app.ts) and the worker (worker.ts). Every request names the
// filter it is about (`target`); the worker keeps the last loaded inputs, so asking several
// questions about one filter loads it once.

/** A file or pasted text: text stays text; binary files travel base64-encoded. */
export interface InputDoc {
  name: string;
  text?: string;
  b64?: string;
}

export interface Target {
  input: InputDoc;
  arch: string;
  thread?: string;
}

export type Request =
  | { op: "load"; target: Target }
  | { op: "lint"; target: Target }
  | { op: "explain"; target: Target }
  | { op: "graph"; target: Target; fold: boolean; policy: boolean; path?: number[] }
  | { op: "eval"; target: Target; syscall: string; args: string[]; fold: boolean }
  | { op: "verify"; target: Target; other: Target; relation: "subset" | "equal" | "diff" }
  | { op: "replay"; target: Target; trace: ArrayBuffer; traceName: string };

export interface LoadResult {
  threads: string[];
  thread?: string;
  length: number;
  container: string;
  disasm: string;
  check: string[];
}

export interface EvalResult {
  verdict: string;
  path: number[];
  svg: string;
}

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; progress: number };
