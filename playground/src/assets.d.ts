// The engine's wasm, embedded by esbuild's binary loader (scripts/build-playground.mjs).
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
