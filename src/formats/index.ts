// The containers a seccomp program travels in, and content-based loading of any of them.
// Each module converts between its layout and Program's canonical little-endian bytes.
export { readRaw, writeRaw, guessEndian, MAX_RAW_BYTES } from "./raw.js";
export { readBincode, writeBincode, BINCODE_DEFAULT_LIMIT, type ReadBincodeOptions } from "./bincode.js";
export {
  readCHeader, writeCHeader, cIdentifier,
  type ReadCHeaderOptions, type WriteCHeaderOptions, type NamedProgram,
} from "./cheader.js";
export { readJsonArray, writeJsonArray, jsonToProgram, parseLosslessJson } from "./jsonarray.js";
export {
  loadFilters, loadFilterBytes, parseFilterSpec, registerPolicyLoader, registerLiveLoader, isLiveSpec, detectContainer, MAX_FILE_BYTES,
  type LoadedFilter, type LoadOptions, type Container, type PolicyLoader, type PolicySource, type LiveLoader,
} from "./detect.js";
