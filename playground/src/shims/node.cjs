// Stands in for Node's built-in modules (and koffi) in the playground bundle. The shared sources
// import them for file and process work the browser never reaches (files arrive as bytes, the
// engine's bytes are embedded); any call that does get here fails loudly with its name.
"use strict";
function unavailable(name) {
  const f = function () {
    throw new Error(`${name} is not available in the browser`);
  };
  return f;
}
module.exports = new Proxy(
  {},
  {
    get(_t, key) {
      if (key === "__esModule") return false;
      if (key === "default") return module.exports;
      if (key === "sep") return "/";
      return unavailable(String(key));
    },
  },
);
