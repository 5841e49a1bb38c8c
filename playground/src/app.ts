// The playground page: inputs, tabs and the link. Everything it shows comes from the worker
// (worker.ts), which runs the CLI's own sources on the embedded engine; this file only moves
// text between the page and the worker, and keeps the state in the URL fragment.
import { encodeState, decodeState } from "./fragment.js";
import type { Request, Reply, Target, InputDoc, LoadResult, EvalResult } from "./protocol.js";

declare const __WORKER_CODE__: string;
/** filters/vmm.seccompiler.json, embedded by the build: the page opens on it. */
declare const __EXAMPLE__: string;

type Tab = "program" | "lint" | "explain" | "graph" | "eval" | "verify" | "replay";
const TABS: Tab[] = ["program", "lint", "explain", "graph", "eval", "verify", "replay"];

interface State {
  a: InputDoc;
  arch: string;
  thread?: string;
  b?: InputDoc;
  threadB?: string;
  tab: Tab;
  sys: string;
  args: string[];
  rel: "subset" | "equal" | "diff";
  fold: boolean;
  policy: boolean;
}

const EXAMPLE: State = {
  a: { name: "vmm.seccompiler.json", text: __EXAMPLE__ },
  arch: "x86_64",
  thread: "vmm",
  tab: "program",
  sys: "ioctl",
  args: ["3", "0xae80", "0", "0", "0", "0"],
  rel: "diff",
  fold: true,
  policy: false,
};

const ARCHES = ["x86_64", "x86", "x32", "aarch64", "arm", "s390x", "s390", "riscv64", "ppc64le", "ppc64", "ppc", "mips", "mipsel", "mips64", "mips64el", "mips64n32", "mipsel64n32", "loongarch64", "parisc", "parisc64", "sparc", "sparc64", "m68k"];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- worker ----------------------------------------------------------------------------------

const worker = new Worker(URL.createObjectURL(new Blob([__WORKER_CODE__], { type: "text/javascript" })));
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: (f: number) => void }>();
worker.onmessage = (e: MessageEvent<Reply>) => {
  const m = e.data;
  const p = pending.get(m.id);
  if (!p) return;
  if ("progress" in m) {
    p.progress?.(m.progress);
    return;
  }
  pending.delete(m.id);
  if (m.ok) p.resolve(m.result);
  else p.reject(new Error(m.error));
};

function ask<T>(req: Request, opts: { transfer?: Transferable[]; progress?: (f: number) => void } = {}): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress: opts.progress });
    worker.postMessage({ id, req }, opts.transfer ?? []);
  });
}

// ---- state -----------------------------------------------------------------------------------

let state: State = structuredClone(EXAMPLE);
let generation = 0;
let replayOutput = "";

function targetA(): Target {
  return { input: state.a, arch: state.arch, thread: state.thread };
}
function targetB(): Target | undefined {
  return state.b ? { input: state.b, arch: state.arch, thread: state.threadB } : undefined;
}

let saveTimer: number | undefined;
function saveState(): void {
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(async () => {
    const frag = await encodeState(state);
    history.replaceState(null, "", `#${frag}`);
  }, 200);
}

// ---- rendering -------------------------------------------------------------------------------

function setBusy(text: string): void {
  $("status").textContent = text;
}

function showError(where: HTMLElement, e: unknown): void {
  where.textContent = `error: ${(e as Error).message}`;
  where.classList.add("error");
}

function fill(where: HTMLElement, text: string): void {
  where.classList.remove("error");
  where.textContent = text;
}

function fillThreads(select: HTMLSelectElement, threads: string[], current: string | undefined): void {
  select.replaceChildren(...threads.map((t) => new Option(t || "(single program)", t, false, t === (current ?? ""))));
  select.disabled = threads.length <= 1;
}

/** Loads A (and B when given) and renders the active tab. Later calls supersede earlier ones. */
async function refresh(): Promise<void> {
  const gen = ++generation;
  saveState();
  setBusy("working…");
  try {
    const r = await ask<LoadResult>({ op: "load", target: targetA() });
    if (gen !== generation) return;
    state.thread = r.thread;
    fillThreads($("threadA"), r.threads, r.thread);
    fill($("count"), `${r.length} instructions (${r.container})`);
    fill($("check"), r.check.join("\n"));
    $("check").classList.toggle("error", !r.check[0]?.includes(": ok:"));
    fill($("disasm"), r.disasm);
  } catch (e) {
    if (gen !== generation) return;
    fill($("count"), "");
    showError($("check"), e);
    fill($("disasm"), "");
    setBusy("");
    return;
  }
  if (state.b) {
    try {
      const rb = await ask<LoadResult>({ op: "load", target: targetB()! });
      if (gen !== generation) return;
      state.threadB = rb.thread;
      fillThreads($("threadB"), rb.threads, rb.thread);
    } catch (e) {
      if (gen === generation) showError($("verifyOut"), e);
    }
  }
  await renderTab(gen);
  if (gen === generation) setBusy("");
}

async function svgInto(where: HTMLElement, gen: number, req: Request): Promise<void> {
  try {
    const svg = await ask<string>(req);
    if (gen !== generation) return;
    where.classList.remove("error");
    where.innerHTML = svg;
  } catch (e) {
    if (gen === generation) showError(where, e);
  }
}

async function renderTab(gen: number): Promise<void> {
  const t = targetA();
  try {
    switch (state.tab) {
      case "program":
        await svgInto($("programGraph"), gen, { op: "graph", target: t, fold: true, policy: false });
        break;
      case "lint": {
        const text = await ask<string>({ op: "lint", target: t });
        if (gen === generation) fill($("lintOut"), text);
        break;
      }
      case "explain": {
        const text = await ask<string>({ op: "explain", target: t });
        if (gen === generation) fill($("explainOut"), text);
        break;
      }
      case "graph":
        await svgInto($("graphOut"), gen, { op: "graph", target: t, fold: state.fold, policy: state.policy });
        break;
      case "eval":
        await evaluate(gen);
        break;
      case "verify":
        await verify(gen);
        break;
      case "replay":
        fill($("replayOut"), replayOutput || "Choose or drop an strace, audit or JSON-lines trace (gzip too).");
        break;
    }
  } catch (e) {
    if (gen === generation) showError($(`${state.tab}Out`) ?? $("status"), e);
  }
}

async function evaluate(gen: number): Promise<void> {
  try {
    const r = await ask<EvalResult>({ op: "eval", target: targetA(), syscall: state.sys, args: state.args, fold: true });
    if (gen !== generation) return;
    fill($("evalOut"), `${state.sys}(${state.args.map((a) => a || "0").join(", ")}) → ${r.verdict}\npath: ${r.path.map((pc) => String(pc).padStart(4, "0")).join(" → ")}`);
    $("evalGraph").innerHTML = r.svg;
  } catch (e) {
    if (gen !== generation) return;
    showError($("evalOut"), e);
    $("evalGraph").replaceChildren();
  }
}

async function verify(gen: number): Promise<void> {
  const b = targetB();
  if (!b) {
    fill($("verifyOut"), "Paste or choose a second filter or policy (B) to compare with A.");
    return;
  }
  try {
    const text = await ask<string>({ op: "verify", target: targetA(), other: b, relation: state.rel });
    if (gen === generation) fill($("verifyOut"), text);
  } catch (e) {
    if (gen === generation) showError($("verifyOut"), e);
  }
}

function selectTab(tab: Tab, focus = false): void {
  state.tab = tab;
  for (const t of TABS) {
    const btn = $(`tab-${t}`);
    const on = t === tab;
    btn.setAttribute("aria-selected", String(on));
    btn.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
    if (on && focus) btn.focus();
  }
  saveState();
  void renderTab(generation);
}

// ---- inputs ----------------------------------------------------------------------------------

/** A file as an input: text when it decodes as UTF-8 without NUL bytes, else base64. */
async function docOf(file: File): Promise<InputDoc> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (!text.includes("\u0000")) return { name: file.name, text };
  } catch {
    // binary: fall through
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: file.name, b64: btoa(s) };
}

function showDoc(area: HTMLTextAreaElement, doc: InputDoc | undefined): void {
  area.value = doc?.text ?? (doc?.b64 ? `(binary file ${doc.name}: ${Math.floor((doc.b64.length * 3) / 4)} bytes)` : "");
  area.readOnly = doc?.b64 !== undefined;
}

let typingTimer: number | undefined;
function onTyped(which: "a" | "b"): void {
  window.clearTimeout(typingTimer);
  typingTimer = window.setTimeout(() => {
    const area = $<HTMLTextAreaElement>(which === "a" ? "inputA" : "inputB");
    const name = which === "a" ? state.a.name : state.b?.name ?? "b.json";
    const doc = { name: name || "input", text: area.value };
    if (which === "a") state.a = doc;
    else state.b = area.value.trim() ? doc : undefined;
    void refresh();
  }, 300);
}

async function takeFile(which: "a" | "b" | "trace", file: File): Promise<void> {
  if (which === "trace") return replayFile(file);
  const doc = await docOf(file);
  if (which === "a") {
    state.a = doc;
    state.thread = undefined;
    showDoc($("inputA"), doc);
  } else {
    state.b = doc;
    state.threadB = undefined;
    showDoc($("inputB"), doc);
    ($("bBox") as HTMLDetailsElement).open = true;
  }
  await refresh();
}

async function replayFile(file: File): Promise<void> {
  selectTab("replay");
  const bar = $<HTMLProgressElement>("replayProgress");
  bar.hidden = false;
  bar.value = 0;
  fill($("replayOut"), `replaying ${file.name}…`);
  const buf = await file.arrayBuffer();
  try {
    replayOutput = await ask<string>(
      { op: "replay", target: targetA(), trace: buf, traceName: file.name },
      { transfer: [buf], progress: (f) => (bar.value = f) },
    );
    fill($("replayOut"), replayOutput);
  } catch (e) {
    replayOutput = "";
    showError($("replayOut"), e);
  } finally {
    bar.hidden = true;
  }
}

function dropTarget(el: HTMLElement, which: "a" | "b" | "trace"): void {
  el.addEventListener("dragover", (e) => {
    e.preventDefault();
    el.classList.add("drop");
  });
  el.addEventListener("dragleave", () => el.classList.remove("drop"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("drop");
    const f = e.dataTransfer?.files[0];
    if (f) void takeFile(which, f);
  });
}

// ---- start -----------------------------------------------------------------------------------

function applyStateToControls(): void {
  showDoc($("inputA"), state.a);
  showDoc($("inputB"), state.b);
  ($("bBox") as HTMLDetailsElement).open = !!state.b;
  $<HTMLSelectElement>("arch").value = state.arch;
  $<HTMLInputElement>("sys").value = state.sys;
  state.args.forEach((a, i) => ($<HTMLInputElement>(`arg${i}`).value = a));
  $<HTMLSelectElement>("relation").value = state.rel;
  $<HTMLInputElement>("fold").checked = state.fold;
  $<HTMLInputElement>("policyView").checked = state.policy;
}

async function start(): Promise<void> {
  $<HTMLSelectElement>("arch").replaceChildren(...ARCHES.map((a) => new Option(a, a)));
  const fromUrl = await decodeState<State>(location.hash.slice(1));
  if (fromUrl) state = { ...structuredClone(EXAMPLE), ...fromUrl };
  applyStateToControls();

  $("inputA").addEventListener("input", () => onTyped("a"));
  $("inputB").addEventListener("input", () => onTyped("b"));
  $<HTMLInputElement>("fileA").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void takeFile("a", f);
  });
  $<HTMLInputElement>("fileB").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void takeFile("b", f);
  });
  $<HTMLInputElement>("traceFile").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void takeFile("trace", f);
  });
  dropTarget($("inputA"), "a");
  dropTarget($("inputB"), "b");
  dropTarget($("panel-replay"), "trace");
  $("arch").addEventListener("change", () => {
    state.arch = $<HTMLSelectElement>("arch").value;
    void refresh();
  });
  $("threadA").addEventListener("change", () => {
    state.thread = $<HTMLSelectElement>("threadA").value || undefined;
    void refresh();
  });
  $("threadB").addEventListener("change", () => {
    state.threadB = $<HTMLSelectElement>("threadB").value || undefined;
    void refresh();
  });
  $("evalForm").addEventListener("submit", (e) => {
    e.preventDefault();
    state.sys = $<HTMLInputElement>("sys").value;
    state.args = [0, 1, 2, 3, 4, 5].map((i) => $<HTMLInputElement>(`arg${i}`).value);
    saveState();
    void evaluate(generation);
  });
  $("verifyForm").addEventListener("submit", (e) => {
    e.preventDefault();
    state.rel = $<HTMLSelectElement>("relation").value as State["rel"];
    saveState();
    void verify(generation);
  });
  for (const id of ["fold", "policyView"]) {
    $(id).addEventListener("change", () => {
      state.fold = $<HTMLInputElement>("fold").checked;
      state.policy = $<HTMLInputElement>("policyView").checked;
      saveState();
      void renderTab(generation);
    });
  }
  $("copyLink").addEventListener("click", async () => {
    const url = `${location.href.split("#")[0]}#${await encodeState(state)}`;
    history.replaceState(null, "", url);
    try {
      await navigator.clipboard.writeText(url);
      setBusy("link copied");
    } catch {
      setBusy("link is in the address bar");
    }
  });
  // Tabs: click, and arrow keys / Home / End as in the WAI-ARIA tabs pattern.
  for (const t of TABS) $(`tab-${t}`).addEventListener("click", () => selectTab(t));
  $("tabs").addEventListener("keydown", (e) => {
    const i = TABS.indexOf(state.tab);
    const next = e.key === "ArrowRight" ? (i + 1) % TABS.length : e.key === "ArrowLeft" ? (i + TABS.length - 1) % TABS.length : e.key === "Home" ? 0 : e.key === "End" ? TABS.length - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    selectTab(TABS[next], true);
  });
  selectTab(state.tab);
  await refresh();
  document.body.dataset.ready = "true";
}

void start();
