// Bundles src/main.jsx into build/assets and copies public/ (index.html) into build/, where
// Create React App's `npm run build` writes too.
import { build } from "esbuild";
import { cpSync, rmSync } from "node:fs";

rmSync("build", { recursive: true, force: true });
cpSync("public", "build", { recursive: true });
await build({
  entryPoints: ["src/main.jsx"],
  bundle: true,
  minify: true,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  outdir: "build/assets",
  logLevel: "info",
});
