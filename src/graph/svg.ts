// DOT → SVG with Graphviz compiled to WebAssembly (@viz-js/viz), so no system Graphviz is
// needed and the playground draws with the same code. Loaded on first use only: the module
// carries Graphviz's wasm (about 1.4 MB) and most commands never draw.
import { SysfenceError, ExitCode } from "../errors.js";

type VizInstance = { renderString(dot: string, opts: { format: string; engine?: string }): string };
let viz: Promise<VizInstance> | undefined;

/** Renders DOT text to an SVG document. */
export async function dotToSvg(dot: string): Promise<string> {
  viz ??= import("@viz-js/viz").then((m) => m.instance() as Promise<VizInstance>);
  const v = await viz;
  try {
    return v.renderString(dot, { format: "svg", engine: "dot" });
  } catch (e) {
    throw new SysfenceError(`Graphviz could not lay out the graph: ${(e as Error).message}`, { exitCode: ExitCode.ENVIRONMENT });
  }
}
