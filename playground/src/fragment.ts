// The page's state in the URL fragment, so a link reproduces exactly what one sees: JSON,
// deflated with the browser's own CompressionStream, base64url. The fragment never reaches a
// server (browsers do not send it), so nothing leaves the browser.
const PREFIX = "v1.";

async function pump(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function toBase64Url(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function encodeState(state: unknown): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(state));
  return PREFIX + toBase64Url(await pump(json, new CompressionStream("deflate-raw")));
}

/** The state in a fragment (without '#'), or undefined when there is none or it is damaged. */
export async function decodeState<T>(fragment: string): Promise<T | undefined> {
  if (!fragment.startsWith(PREFIX)) return undefined;
  try {
    const json = await pump(fromBase64Url(fragment.slice(PREFIX.length)), new DecompressionStream("deflate-raw"));
    return JSON.parse(new TextDecoder().decode(json)) as T;
  } catch {
    return undefined;
  }
}
