/**
 * Rooms and arrows (docs/architecture.md): every import under src/ is read with TypeScript's own
 * parser (type-only imports count too), and the graph they make must have no circle and no arrow
 * pointing up a room.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { projectRoot } from "../../src/paths.js";

type Graph = Map<string, string[]>;

/** Top to bottom. A file may import its own room, any room below it, and the leaves. */
const ROOMS: { name: string; holds: (file: string) => boolean }[] = [
  {
    name: "entry points and configuration",
    holds: (file) =>
      ["src/server.ts", "src/service.ts", "src/cli.ts", "src/cluster.ts", "src/config.ts", "src/telemetry.ts"].includes(
        file,
      ) || file.startsWith("src/cli/"),
  },
  { name: "app", holds: (file) => file === "src/app.ts" },
  { name: "api", holds: (file) => file.startsWith("src/api/") },
  { name: "http", holds: (file) => file.startsWith("src/http/") },
  { name: "domain", holds: (file) => file.startsWith("src/domain/") },
  { name: "db", holds: (file) => file.startsWith("src/db/") },
  {
    name: "leaf",
    holds: (file) => file.startsWith("src/contract/") || file === "src/paths.ts" || file === "openapi/types.d.ts",
  },
];
const LEAF = ROOMS.length - 1;

const roomOf = (file: string): number => ROOMS.findIndex((room) => room.holds(file));

/** Repository-relative, with forward slashes, as the rooms name files. */
const named = (path: string): string => relative(projectRoot, path).split(sep).join("/");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))
    .map((path) => join(dir, path))
    .sort();
}

/** Every module specifier the file names: imports, re-exports, import("…") and import types. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push(argument.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push(literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The module specifiers the file loads as it is loaded: imports and re-exports, less the type-only
 * ones (which the compiler drops) and `import("…")` (which loads when it runs).
 */
function loadTimeSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    }
  }
  return found;
}

/**
 * The packages (not node: modules) that loading `entry` loads, each with a shortest chain of files
 * that reaches it.
 */
function packagesLoaded(entry: string): string[] {
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  const found = new Map<string, string>();
  for (let i = 0; i < queue.length; i += 1) {
    const file = queue[i] as string;
    const chain = chains.get(file) as string[];
    for (const specifier of loadTimeSpecifiers(join(projectRoot, file))) {
      if (specifier.startsWith(".")) {
        const next = target(join(projectRoot, file), specifier);
        if (!chains.has(next)) {
          chains.set(next, [...chain, next]);
          queue.push(next);
        }
      } else if (!specifier.startsWith("node:") && !found.has(specifier)) {
        found.set(specifier, [...chain, specifier].join(" → "));
      }
    }
  }
  return [...found.values()];
}

/** The file a relative specifier names (`./x.js` is `./x.ts` or `./x.d.ts` in the sources). */
function target(from: string, specifier: string): string {
  const path = resolve(dirname(from), specifier);
  const base = path.replace(/\.js$/, "");
  const candidates = [`${base}.ts`, `${base}.d.ts`, path, join(path, "index.ts")];
  const file = candidates.find((candidate) => existsSync(candidate) && candidate.endsWith(".ts"));
  assert.ok(file, `${named(from)} imports ${specifier}, which is no file`);
  return named(file);
}

/** Each file under src/ and the project files it imports (packages and node: modules left out). */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(join(projectRoot, "src"))) {
    const local = specifiers(file).filter((specifier) => specifier.startsWith("."));
    graph.set(named(file), [...new Set(local.map((specifier) => target(file, specifier)))]);
  }
  return graph;
}

/** The circles among files that reach one another, each as `a → b → … → a`. */
function circles(graph: Graph): string[][] {
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) groups.push(group);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);

  // Through each file of a group, the shortest way back to itself; each circle once.
  const found = new Map<string, string[]>();
  for (const group of groups) {
    const members = new Set(group);
    for (const start of group) {
      const circle = shortestCircle(graph, members, start);
      const [first] = circle.slice(0, -1).sort() as [string];
      const at = circle.indexOf(first);
      const rotated = [...circle.slice(at, -1), ...circle.slice(0, at), first];
      found.set(rotated.join(" → "), rotated);
    }
  }
  return [...found.values()];
}

function shortestCircle(graph: Graph, members: Set<string>, start: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i += 1) {
    const node = queue[i] as string;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Arrows that leave the rooms: from a file in no room, or to a room above the file's own. */
function upArrows(graph: Graph): string[] {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = roomOf(file);
    if (from === -1) {
      wrong.push(`${file} is in no room`);
      continue;
    }
    for (const imported of imports) {
      const to = roomOf(imported);
      if (to === -1) wrong.push(`${file} imports ${imported}, which is in no room`);
      else if (to !== LEAF && (from === LEAF || to < from)) {
        wrong.push(`${file} (${ROOMS[from]?.name}) imports ${imported} (${ROOMS[to]?.name}), a room above`);
      }
    }
  }
  return wrong;
}

describe("rooms and arrows", () => {
  const graph = importGraph();

  test("every import is read, type-only and multi-line ones too", () => {
    // Today's code, as a check that the reader misses nothing it should see.
    assert.ok(graph.get("src/app.ts")?.includes("src/http/problems.ts"));
    assert.ok(graph.get("src/api/types.ts")?.includes("openapi/types.d.ts"));
    assert.ok(graph.get("src/db/migrations/index.ts")?.includes("src/db/migrations/001_initial.ts"));
    assert.ok(graph.size > 50, `only ${graph.size} files under src/`);
  });

  test("a circle is found and named", () => {
    const sample: Graph = new Map([
      ["a", ["b"]],
      ["b", ["c", "d"]],
      ["c", ["a"]],
      ["d", ["d"]],
      ["e", ["a"]],
    ]);
    assert.deepEqual(
      circles(sample)
        .map((circle) => circle.join(" → "))
        .sort(),
      ["a → b → c → a", "d → d"],
    );
    assert.deepEqual(circles(new Map([["a", ["b"]]])), []);
  });

  test("no import circles", () => {
    const found = circles(graph).map((circle) => circle.join(" → "));
    assert.deepEqual(found, [], `import circles:\n${found.join("\n")}`);
  });

  test("the load-time reader sees value imports and side-effect imports, not type-only ones", () => {
    // Today's code: src/http/rate-limits.ts imports its plugin, a module for its side effect only, and types.
    const specifiers = loadTimeSpecifiers(join(projectRoot, "src/http/rate-limits.ts"));
    assert.ok(specifiers.includes("@fastify/rate-limit"));
    assert.ok(specifiers.includes("./session-cookie.js"));
    assert.ok(!specifiers.includes("ioredis"));
    assert.ok(packagesLoaded("src/app.ts").some((chain) => chain.endsWith("→ markdown-it")));
  });

  test("reading the configuration, and the CLI until it has chosen a command, load no package", () => {
    // Every CLI run and every start reads the configuration: the settings it reads live in modules
    // of their own (src/db/settings.ts, src/domain/settings.ts, src/http/settings.ts), so that
    // reading it does not load the services, with markdown-it, the password lists or Kysely.
    for (const entry of ["src/config.ts", "src/cli.ts"]) {
      const loaded = packagesLoaded(entry);
      assert.deepEqual(loaded, [], `${entry} loads packages as it is loaded:\n${loaded.join("\n")}`);
    }
  });

  test("what only some processes use is loaded when they use it", () => {
    // Every server process, cluster worker and test app loads src/app.ts; the passkey library (with
    // its ASN.1 and X.509 modules, half the CPU of loading the app) is loaded by the first ceremony,
    // the common passwords by the first new password.
    const app = packagesLoaded("src/app.ts");
    for (const name of ["@simplewebauthn/server", "@zxcvbn-ts/language-common"]) {
      assert.ok(!app.some((chain) => chain.endsWith(`→ ${name}`)), `src/app.ts loads ${name}:\n${app.join("\n")}`);
    }
    // A cluster primary, and a start stopped by its configuration, never build the app.
    const server = packagesLoaded("src/server.ts");
    for (const name of ["fastify", "ajv", "@simplewebauthn/server", "markdown-it"]) {
      assert.ok(
        !server.some((chain) => chain.endsWith(`→ ${name}`)),
        `src/server.ts loads ${name}:\n${server.join("\n")}`,
      );
    }
  });

  test("every arrow points down a room, or to a leaf", () => {
    const wrong = upArrows(graph);
    assert.deepEqual(wrong, [], `arrows against the rooms:\n${wrong.join("\n")}`);
  });
});
