// Placeholder entry; replaced by the full CLI.
console.log("sysfence");
