// Build the UI into the Python package: ../collector/spanflow_collector/ui/static/.
// One hashed JS bundle, one hashed CSS bundle, and index.html naming them.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "collector", "spanflow_collector", "ui", "static");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const common = {
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: join(out, "assets"),
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
};
const names = (result) => Object.keys(result.metafile.outputs).map((file) => basename(file));
// The layout worker first: the app bundle is told its hashed name.
const worker = names(
  await build({ ...common, entryPoints: [join(here, "src", "layout-worker.ts")], entryNames: "layout-[hash]" }),
).find((file) => file.endsWith(".js"));
const result = await build({
  ...common,
  entryPoints: [join(here, "src", "main.ts")],
  entryNames: "app-[hash]",
  define: { LAYOUT_WORKER_URL: JSON.stringify(`assets/${worker}`) },
});
const outputs = names(result);
const js = outputs.find((file) => file.endsWith(".js"));
const css = outputs.find((file) => file.endsWith(".css"));
if (!js || !css) throw new Error(`expected one .js and one .css bundle, got ${outputs.join(", ")}`);
const html = readFileSync(join(here, "index.html"), "utf8").replace("%JS%", js).replace("%CSS%", css);
writeFileSync(join(out, "index.html"), html);
copyFileSync(join(here, "favicon.svg"), join(out, "assets", "favicon.svg"));
console.log(`built the web UI into ${out}: ${js}, ${css}, ${worker}`);
