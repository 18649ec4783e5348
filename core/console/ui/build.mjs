// Bundles the console into ../dist, which the hub embeds. Run with `npm run build` (make does).
import * as esbuild from "esbuild";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";

const out = new URL("../dist/", import.meta.url).pathname;
await mkdir(out, { recursive: true });
for (const f of await readdir(out)) {
  if (f !== ".gitkeep") await rm(out + f, { recursive: true });
}
const result = await esbuild.build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: out + "console.js",
  metafile: true,
  logLevel: "warning",
});
await copyFile("src/index.html", out + "index.html");
await copyFile("src/console.css", out + "console.css");
await copyFile("src/icon.svg", out + "icon.svg");
const bytes = result.metafile.outputs["../dist/console.js"]?.bytes ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes;
console.log(`console built: console.js ${((bytes ?? 0) / 1024).toFixed(1)} KiB minified`);
