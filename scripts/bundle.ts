// Builds the service's two entry points, dist/server.js (`npm start`) and dist/cli.js
// (`people-notes`), as ES modules bundled with the packages they use, rather than about 600 files
// for Node to find, read and compile at every start: a server process starts on about 0.5 s less
// CPU (docs/benchmarks.md, "One file instead of 600"), which every cluster worker, CLI command and
// test process that starts one pays. The two entries share their modules through chunks, so that
// `people-notes serve` runs the same classes as `node dist/server.js`, and what is imported only
// when used (the CLI's commands; the app, which a cluster primary never loads) stays a chunk loaded
// when used.
//
//   tsx scripts/bundle.ts        (part of `npm run build`, after the type check)
import { rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BuildOptions, build } from "esbuild";

const root = join(import.meta.dirname, "..");
const outdir = join(root, "dist");

/**
 * Packages loaded from node_modules as they are, not bundled:
 * - better-sqlite3: a native addon;
 * - pino (and its transports' thread-stream), @fastify/swagger, @fastify/swagger-ui and the
 *   contract checker fastify-openapi-glue loads: they find their own files (worker scripts, Swagger
 *   UI's static files, JSON schemas) beside their modules, by `__dirname`, which a bundle moves;
 * - OpenTelemetry and the passkey library: heavy, and loaded only by a process that traces or by
 *   the first passkey ceremony.
 * pg, ioredis, yaml and the common-password list are loaded with `createRequire` when used, which a
 * bundler leaves alone.
 */
const EXTERNAL = [
  "better-sqlite3",
  "pino",
  "thread-stream",
  "@fastify/swagger",
  "@fastify/swagger-ui",
  "@seriousme/openapi-schema-validator",
  "@opentelemetry/*",
  "@simplewebauthn/server",
];

/** What a bundled package must not use: it would name the bundle's place, not the package's own. */
const PLACE_DEPENDENT = /\b__dirname\b|\b__filename\b|\brequire\.resolve\b|\bimport\.meta\.(url|dirname|filename)\b/;

/** The options both passes share (below). */
const options = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  // Beside the entries, so that src/paths.ts finds the project root one level up, as from src/.
  chunkNames: "[name]-[hash]",
  // Maps to src/ for coverage and for `node --enable-source-maps`; the sources are read from src/.
  sourcemap: "linked",
  sourcesContent: false,
  external: EXTERNAL,
  // The CommonJS packages bundled into an ES module still call `require` for Node's own modules.
  banner: {
    js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);',
  },
  metafile: true,
  logLevel: "warning",
} satisfies BuildOptions;
const ENTRIES = { server: "src/server.ts", cli: "src/cli.ts" };
/** The third entry's name (below), made by the plugin, and how esbuild's metafile names it. */
const PACKAGES = "bundle:packages";
const PACKAGES_NAMESPACE = "packages";

const isPackageModule = (input: string) => input.startsWith("node_modules/");

// First, which packages' modules the entries bundle, and whether each may be bundled; then the
// bundle, with a third entry that imports just those modules: a chunk is the code the same entries
// reach, so the packages' code then lands in chunks of its own, apart from the service's. Those
// chunks keep no source map. Node reads every map of a module it loads when coverage or
// --enable-source-maps is on, and a coverage file carries them: the packages' were most of the
// maps' bytes and name nothing of src/.
const found = await build({ ...options, entryPoints: ENTRIES, write: false });
const packageModules = Object.keys(found.metafile.inputs).filter(isPackageModule);

const placeDependent: string[] = [];
for (const input of packageModules) {
  if (PLACE_DEPENDENT.test(await readFile(join(root, input), "utf8"))) placeDependent.push(input);
}
if (placeDependent.length > 0) {
  console.error(
    `scripts/bundle.ts: these bundled modules find files beside themselves, which the bundle moves; ` +
      `leave their packages out of the bundle (EXTERNAL):\n  ${placeDependent.join("\n  ")}`,
  );
  process.exit(1);
}

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  ...options,
  entryPoints: { ...ENTRIES, packages: PACKAGES },
  plugins: [
    {
      name: "packages-entry",
      setup(plugin) {
        plugin.onResolve({ filter: new RegExp(`^${PACKAGES}$`) }, (args) => ({
          path: args.path,
          namespace: PACKAGES_NAMESPACE,
        }));
        plugin.onLoad({ filter: /.*/, namespace: PACKAGES_NAMESPACE }, () => ({
          // Re-exported, not bare imports: a bare import of a module without side effects is dropped.
          contents: packageModules
            .map((input, i) => `export * as m${i} from ${JSON.stringify(`./${input}`)};`)
            .join("\n"),
          resolveDir: root,
          loader: "js",
        }));
      },
    },
  ],
});
for (const [output, { inputs, entryPoint }] of Object.entries(result.metafile.outputs)) {
  if (output.endsWith(".map")) continue;
  const file = join(root, output);
  if (entryPoint === `${PACKAGES_NAMESPACE}:${PACKAGES}`) {
    rmSync(file);
    rmSync(`${file}.map`);
  } else if (Object.keys(inputs).every(isPackageModule)) {
    const code = await readFile(file, "utf8");
    await writeFile(file, code.replace(/\n\/\/# sourceMappingURL=\S+\n?$/, "\n"));
    rmSync(`${file}.map`);
  }
}
