/**
 * The production shape on one machine: a client, HAProxy (deploy/haproxy.cfg, as committed), two
 * hosts each running the built server with two workers, and a PostgreSQL cluster, each in a network
 * namespace of its own on one bridge. One host is killed outright under load and started again;
 * then the other is drained. Needs root (network namespaces), `ip`, `haproxy` and PostgreSQL's
 * server binaries; without them the test fails, it is never skipped.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { eventually } from "../support/eventually.js";
import { START_LIMIT_MS, TEST_DATABASE_ENV, WAIT_LIMIT_MS } from "../support/limits.js";
import { within } from "../support/server-process.js";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** deploy/haproxy.cfg's checks: inter, fastinter, fall, and the check timeout. */
const CHECK = { interMs: 1_000, fastinterMs: 250, fall: 2, timeoutMs: 1_000 };
/** The longest HAProxy may keep sending to a host that died or started draining. */
const MARKED_DOWN_WITHIN_MS = CHECK.interMs + (CHECK.fall - 1) * CHECK.fastinterMs + CHECK.timeoutMs;
/** Above MARKED_DOWN_WITHIN_MS: the listener stays open until the balancer has stopped sending. */
const SHUTDOWN_DELAY_MS = 3_000;
const LOAD_CLIENTS = 4;
/** Enough that some reach each host: all 12 on one is a chance of 1 in 4,096. */
const SLOW_UPLOADS = 12;
const PORT = 5000;

// One run's names and addresses, so that runs at the same time, or one left over, do not meet.
const prefix = `pn${randomBytes(2).toString("hex")}`;
const subnet = `10.211.${randomInt(0, 256)}`;
const hosts = {
  lb: `${subnet}.2`,
  host1: `${subnet}.11`,
  host2: `${subnet}.12`,
  db: `${subnet}.20`,
  client: `${subnet}.30`,
} as const;
type Place = keyof typeof hosts;
const ns = (place: Place | "br") => `${prefix}-${place}`;

const dir = mkdtempSync(join(tmpdir(), "people-notes-topology-"));
const statsSocket = join(dir, "haproxy.sock");
const pgData = join(dir, "pg");
const pgPort = 5500 + randomInt(0, 400);

/** A process started in a namespace, leading a process group of its own (its workers join it). */
interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Sends `signal` to every process of the group. */
  signalGroup(signal: NodeJS.Signals): void;
}

const procs: Proc[] = [];

function inNamespace(place: Place, name: string, command: string[], env: Record<string, string> = {}): Proc {
  const child = spawn("ip", ["netns", "exec", ns(place), ...command], {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const proc: Proc = {
    name,
    child,
    output: () => output,
    exited,
    signalGroup(signal) {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // the group has gone already
      }
    },
  };
  procs.push(proc);
  return proc;
}

/** Processes of the group still running (a zombie has ended, whoever reaps it). */
function liveInGroup(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(group) === pgid && state !== "Z") live.push(Number(entry));
  }
  return live;
}

/** Waits until `check` gives a value (not undefined or false), and gives it back. */
const waitUntil = <T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> =>
  eventually(
    async () => await check(),
    (value) => value !== undefined && value !== false,
    what,
    ms,
  ) as Promise<T>;

const ip = (...args: string[]) => run("ip", args, { timeout: 10_000 });

/** A bridge in a namespace of its own, and one namespace per place, each with eth0 on the bridge. */
async function buildNetwork(): Promise<void> {
  await ip("netns", "add", ns("br"));
  await ip("-n", ns("br"), "link", "add", "br0", "type", "bridge");
  await ip("-n", ns("br"), "link", "set", "br0", "up");
  for (const place of Object.keys(hosts) as Place[]) {
    await ip("netns", "add", ns(place));
    await ip("-n", ns("br"), "link", "add", "name", place, "type", "veth", "peer", "name", "eth0", "netns", ns(place));
    await ip("-n", ns("br"), "link", "set", place, "master", "br0");
    await ip("-n", ns("br"), "link", "set", place, "up");
    await ip("-n", ns(place), "addr", "add", `${hosts[place]}/24`, "dev", "eth0");
    await ip("-n", ns(place), "link", "set", "eth0", "up");
    await ip("-n", ns(place), "link", "set", "lo", "up");
  }
}

async function removeNetwork(): Promise<void> {
  for (const place of [...Object.keys(hosts), "br"] as (Place | "br")[]) {
    await ip("netns", "del", ns(place)).catch(() => {});
  }
}

function postgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(a) - Number(b)) : [];
  const bin = join(base, versions.at(-1) ?? "missing", "bin");
  if (!existsSync(join(bin, "initdb"))) throw new Error(`no PostgreSQL server binaries (initdb) under ${base}`);
  return bin;
}

async function requireTools(): Promise<void> {
  if (userInfo().uid !== 0) throw new Error("network namespaces need root: run this test as root");
  for (const tool of ["ip", "haproxy", "setpriv"]) {
    await run("sh", ["-c", `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed (.ci/run installs it)`);
    });
  }
  postgresBin();
}

/** A PostgreSQL cluster of the test's own, in its namespace, trusting the subnet. */
async function startPostgres(): Promise<Proc> {
  const bin = postgresBin();
  const { uid, gid } = await run("id", ["-u", "postgres"]).then(async ({ stdout }) => ({
    uid: Number(stdout.trim()),
    gid: Number((await run("id", ["-g", "postgres"])).stdout.trim()),
  }));
  chmodSync(dir, 0o711);
  mkdirSync(pgData, { mode: 0o700 });
  chownSync(pgData, uid, gid);
  const asPostgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"];
  await run(asPostgres[0] as string, [
    ...asPostgres.slice(1),
    join(bin, "initdb"),
    "-D",
    pgData,
    "-U",
    "postgres",
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  appendFileSync(join(pgData, "pg_hba.conf"), `host all all ${subnet}.0/24 trust\n`);
  const postgres = inNamespace("db", "postgres", [
    ...asPostgres,
    join(bin, "postgres"),
    "-D",
    pgData,
    "-p",
    String(pgPort),
    "-c",
    `listen_addresses=${hosts.db}`,
    "-c",
    `unix_socket_directories=${pgData}`,
  ]);
  await waitUntil("PostgreSQL accepting connections", START_LIMIT_MS, async () => {
    if (postgres.child.exitCode !== null) throw new Error(`PostgreSQL exited:\n${postgres.output()}`);
    const ready = await run("ip", [
      "netns",
      "exec",
      ns("host1"),
      join(bin, "pg_isready"),
      "-q",
      "-h",
      hosts.db,
      "-p",
      String(pgPort),
    ]).then(
      () => true,
      () => undefined,
    );
    return ready;
  });
  return postgres;
}

const databaseUrl = () => `postgres://postgres@${hosts.db}:${pgPort}/postgres`;

function serverEnv(place: "host1" | "host2"): Record<string, string> {
  return {
    ...TEST_DATABASE_ENV,
    DATABASE_URL: databaseUrl(),
    WORKERS: "2",
    HOST: hosts[place],
    PORT: String(PORT),
    LOG_LEVEL: "warn",
    SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
    SHUTDOWN_TIMEOUT_MS: "20000",
    KEEP_ALIVE_TIMEOUT_MS: "65000",
    // Every client reaches the hosts from the balancer's one address: a per-address write limit
    // would count them all together.
    RATE_LIMIT_WRITES_PER_MINUTE: "0",
    // Four server processes starting at once on a small machine lag; shedding is tested elsewhere.
    SHED_EVENT_LOOP_DELAY_MS: "10000",
  };
}

const startHost = (place: "host1" | "host2") =>
  inNamespace(place, place, [process.execPath, "dist/server.js"], serverEnv(place));

type Stats = Map<string, Record<string, string>>;

/** HAProxy's `show stat`, by server name. */
async function haproxyStats(): Promise<Stats> {
  const text = await within(
    new Promise<string>((done, fail) => {
      let received = "";
      const socket = connect(statsSocket);
      socket.on("data", (chunk) => {
        received += chunk;
      });
      socket.on("error", fail);
      socket.on("close", () => done(received));
      socket.end("show stat\n");
    }),
    5_000,
    "HAProxy's stats socket",
  );
  const [header = "", ...rows] = text.split("\n").filter((line) => line.trim() !== "");
  const fields = header.replace(/^# /, "").split(",");
  const stats: Stats = new Map();
  for (const row of rows) {
    const values = row.split(",");
    const record = Object.fromEntries(fields.map((field, i) => [field, values[i] ?? ""]));
    if (record.pxname === "people-notes" && record.svname?.startsWith("host")) stats.set(record.svname, record);
  }
  return stats;
}

const statusOf = async (server: string) => (await haproxyStats().catch(() => new Map() as Stats)).get(server)?.status;

/** One sample of the balancer's view of a host. */
interface Sample {
  at: number;
  status: string;
  /** Connections HAProxy opened to it, or tried to (a refused one counts too). */
  sent: number;
}

/** Samples every host's status and count every 25 ms, until stopped (or a bound). */
function monitorBalancer() {
  const samples: Record<string, Sample[]> = { host1: [], host2: [] };
  let stopping = false;
  const done = (async () => {
    const until = Date.now() + 5 * WAIT_LIMIT_MS;
    while (!stopping && Date.now() < until) {
      const stats = await haproxyStats().catch(() => undefined);
      const at = Date.now();
      for (const [server, record] of stats ?? []) {
        samples[server]?.push({ at, status: record.status ?? "", sent: Number(record.stot) + Number(record.econ) });
      }
      await sleep(25);
    }
  })();
  return {
    samples,
    stop: async () => {
      stopping = true;
      await done;
    },
  };
}

/** The last moment the count of connections sent to `server` was seen to grow, from `from` on. */
function lastSentAfter(samples: Sample[], from: number): number {
  let last = from;
  for (let i = 1; i < samples.length; i++) {
    const [previous, current] = [samples[i - 1] as Sample, samples[i] as Sample];
    if (current.at >= from && current.sent > previous.sent) last = current.at;
  }
  return last;
}

interface Outcome {
  started: number;
  ended: number;
  status?: number;
  servedBy?: string | null;
  contentType?: string | null;
  body?: Record<string, unknown>;
  text?: string;
  error?: string;
}
interface LoadRecord extends Outcome {
  type: "load";
  slow?: true;
  client: number;
  op: "create-person" | "create-note" | "read-person";
  sent: Record<string, string | number>;
}
interface StreamRecord {
  type: "stream-open" | "event" | "stream-end";
  connection: number;
  at: number;
  status?: number;
  servedBy?: string | null;
  lastEventId?: string;
  id?: string;
  event?: string;
  data?: Record<string, unknown>;
  how?: string;
}

/** The client in its namespace: commands in, records out (test/support/topology-client.ts). */
class Client {
  readonly records: Record<string, unknown>[] = [];
  private readonly proc: Proc;
  private nextId = 0;

  constructor(token: string) {
    this.proc = inNamespace(
      "client",
      "client",
      [process.execPath, "--import", "tsx", "test/support/topology-client.ts"],
      { BASE: `http://${hosts.lb}:80`, TOKEN: token },
    );
    const lines = createInterface({ input: this.proc.child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      try {
        this.records.push({ at: Date.now(), ...(JSON.parse(line) as Record<string, unknown>) });
      } catch {
        // not a record: it stays in the output, for the failure message
      }
    });
  }

  send(command: Record<string, unknown>): void {
    this.proc.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  of<T>(type: string): T[] {
    return this.records.filter((record) => record.type === type) as T[];
  }

  waitFor<T>(what: string, matches: (record: T) => boolean, ms = WAIT_LIMIT_MS): Promise<T> {
    return waitUntil(what, ms, () => {
      if (this.proc.child.exitCode !== null) throw new Error(`the client exited:\n${this.proc.output().slice(-3000)}`);
      return (this.records as T[]).find(matches);
    });
  }

  async request(method: string, path: string): Promise<Outcome> {
    const id = ++this.nextId;
    this.send({ cmd: "request", id, method, path });
    return this.waitFor<Outcome & { type: string; id: number }>(
      `${method} ${path}`,
      (r) => r.type === "response" && r.id === id,
    );
  }
}

/** A failure the balancer made: a 5xx page of its own (no X-Served-By, not the service's problem+json). */
const balancerError = (o: Outcome) =>
  o.status !== undefined && o.status >= 500 && !o.servedBy && !(o.contentType ?? "").includes("problem+json");

/** Why a load answer is wrong, or undefined when it is right or a failure of the kind allowed. */
function wrongAnswer(r: LoadRecord): string | undefined {
  if (r.error !== undefined || balancerError(r)) return undefined;
  const body = r.body ?? {};
  const same = (keys: string[]) => keys.every((key) => body[key] === r.sent[key]);
  if (r.op === "create-person" && r.status === 201 && same(["fname", "lname"])) return undefined;
  if (r.op === "create-note" && r.status === 201 && same(["person_id", "content"])) return undefined;
  if (r.op === "read-person" && r.status === 200 && same(["person_id", "fname", "lname"])) return undefined;
  return `${r.op} ${JSON.stringify(r.sent)} → ${r.status} from ${r.servedBy}: ${JSON.stringify(r.body ?? r.text)}`;
}

const failed = (r: Outcome) => r.error !== undefined || balancerError(r);

describe("the production topology: HAProxy, two hosts of two workers, PostgreSQL", () => {
  let client: Client;
  let postgres: Proc | undefined;
  const running: Partial<Record<"host1" | "host2", Proc>> = {};
  /** What happened, when (Date.now() on this machine, which the client shares). */
  const at = { killed: 0, restarted: 0, upAgain: 0, drained: 0, drainExit: 0 };
  let victim: "host1" | "host2";
  let survivor: "host1" | "host2";
  let drainExitCode: number | null = null;
  let balancer: ReturnType<typeof monitorBalancer>;
  /** The killed host's processes just before the kill: its primary and workers. */
  let killedGroup: number[] = [];

  before(async () => {
    await requireTools();
    await buildNetwork();
    postgres = await startPostgres();
    // A host listening beyond loopback refuses to start without an admin token.
    const made = await run(
      "ip",
      ["netns", "exec", ns("host1"), process.execPath, "dist/cli.js", "token", "create", "--admin", "--name", "ops"],
      {
        cwd: root,
        env: { ...process.env, ...TEST_DATABASE_ENV, DATABASE_URL: databaseUrl() },
        timeout: START_LIMIT_MS,
      },
    );
    const token = made.stdout.trim();
    running.host1 = startHost("host1");
    running.host2 = startHost("host2");
    const haproxy = inNamespace("lb", "haproxy", ["haproxy", "-db", "-f", "deploy/haproxy.cfg"], {
      PEOPLE_NOTES_BIND: `${hosts.lb}:80`,
      PEOPLE_NOTES_HOST1: `${hosts.host1}:${PORT}`,
      PEOPLE_NOTES_HOST2: `${hosts.host2}:${PORT}`,
      HAPROXY_STATS_SOCKET: statsSocket,
    });
    await waitUntil("both hosts UP in HAProxy", START_LIMIT_MS, async () => {
      for (const proc of [running.host1, running.host2, haproxy]) {
        if (proc?.child.exitCode !== null) throw new Error(`${proc?.name} exited:\n${proc?.output()}`);
      }
      const stats = await haproxyStats().catch(() => undefined);
      return stats?.get("host1")?.status === "UP" && stats.get("host2")?.status === "UP" ? true : undefined;
    });

    client = new Client(token);
    balancer = monitorBalancer();
    // The stream first, so that every write of the load comes after its start; the host it is held
    // on is the one to be killed.
    client.send({ cmd: "stream" });
    const opened = await client.waitFor<StreamRecord>("the event stream", (r) => r.type === "stream-open");
    assert.equal(opened.status, 200);
    await client.waitFor<StreamRecord>("its ready event", (r) => r.type === "event" && r.event === "ready");
    victim = opened.servedBy === "host2" ? "host2" : "host1";
    survivor = victim === "host1" ? "host2" : "host1";

    client.send({ cmd: "load", clients: LOAD_CLIENTS });
    // Load on both hosts before the kill.
    await client.waitFor<LoadRecord>(
      "answers from the host to be killed",
      (r) => r.type === "load" && r.servedBy === victim,
    );
    await client.waitFor<LoadRecord>(
      "answers from the other host",
      (r) => r.type === "load" && r.servedBy === survivor,
    );
    await sleep(500);

    // 1. Every process of one host, primary and workers, killed at once.
    const killed = running[victim] as Proc;
    killedGroup = liveInGroup(killed.child.pid as number);
    at.killed = Date.now();
    killed.signalGroup("SIGKILL");
    await within(killed.exited, WAIT_LIMIT_MS, "the killed primary's exit");
    await waitUntil("the killed host's workers gone", WAIT_LIMIT_MS, () =>
      liveInGroup(killed.child.pid as number).length === 0 ? true : undefined,
    );
    await waitUntil("HAProxy marking the killed host DOWN", WAIT_LIMIT_MS, async () =>
      (await statusOf(victim))?.startsWith("DOWN") ? true : undefined,
    );
    await sleep(1_000);
    at.restarted = Date.now();
    running[victim] = startHost(victim);
    await waitUntil("the restarted host UP in HAProxy", START_LIMIT_MS, async () =>
      (await statusOf(victim)) === "UP" ? true : undefined,
    );
    at.upAgain = Date.now();
    await client.waitFor<LoadRecord>(
      "answers from the restarted host",
      (r) => r.type === "load" && r.servedBy === victim && r.started > at.upAgain,
    );

    // 2. The other host drained while the restarted one serves, with requests of its own unfinished:
    // uploads stopped halfway (over both hosts, by the balancer's turns), finished once the drained
    // host's listener has closed.
    client.send({ cmd: "slow-uploads", count: SLOW_UPLOADS });
    await sleep(500);
    const drained = running[survivor] as Proc;
    at.drained = Date.now();
    drained.child.kill("SIGTERM");
    await sleep(SHUTDOWN_DELAY_MS + 500);
    client.send({ cmd: "finish-uploads" });
    drainExitCode = await within(drained.exited, WAIT_LIMIT_MS, "the drained host's exit");
    at.drainExit = Date.now();
    await sleep(500);
    client.send({ cmd: "stop-load" });
    await client.waitFor("the load's end", (r: { type: string }) => r.type === "load-stopped");
    await balancer.stop();
  });

  after(async () => {
    await balancer?.stop();
    client?.send({ cmd: "exit" });
    // The database last, so that nothing is left waiting for it; every group killed, whatever happened.
    for (const proc of procs.filter((p) => p !== postgres)) proc.signalGroup("SIGKILL");
    await Promise.all(procs.filter((p) => p !== postgres).map((p) => within(p.exited, 10_000, p.name).catch(() => {})));
    if (postgres) {
      postgres.signalGroup("SIGINT");
      await within(postgres.exited, 10_000, "PostgreSQL's exit").catch(() => postgres?.signalGroup("SIGKILL"));
    }
    await removeNetwork();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = () => client.of<LoadRecord>("load");

  /** When the balancer was first seen to have marked the killed host down. */
  const markedDown = () =>
    (balancer.samples[victim] ?? []).find((s) => s.at >= at.killed && s.status.startsWith("DOWN"))?.at;

  test("every answer is right; the only failures are requests sent to the killed host before it was marked down", (t) => {
    const records = load();
    const kinds = records.filter(failed).map((r) => r.error ?? `${r.status} from the balancer`);
    t.diagnostic(
      `${records.length} requests, ${records.filter((r) => r.status === 201).length} acknowledged writes; ` +
        `failed: ${kinds.length ? kinds.join(", ") : "none"}`,
    );
    assert.ok(records.length > 100, `a steady load: ${records.length} requests`);
    assert.deepEqual(records.map(wrongAnswer).filter(Boolean), []);
    // Those in flight on it when it died, and those HAProxy sent on a connection to it it had kept
    // for reuse before it saw that connection closed (its 502): never after it marked the host down.
    const down = markedDown() ?? at.killed;
    const outside = records.filter(failed).filter((r) => r.ended < at.killed || r.started > down);
    assert.deepEqual(outside, [], `failures outside ${at.killed}…${down}`);
  });

  test("HAProxy stops sending to the killed host within its health checks, and sends again once it is back", (t) => {
    assert.equal(killedGroup.length, 3, "the primary and two workers were killed (and were gone before this)");
    const samples = balancer.samples[victim] ?? [];
    const lastSent = lastSentAfter(
      samples.filter((s) => s.at < at.restarted),
      at.killed,
    );
    const firstDown = markedDown();
    assert.ok(firstDown, "seen DOWN");
    t.diagnostic(
      `killed host: last connection sent to it ${lastSent - at.killed} ms after the kill, DOWN seen after ` +
        `${firstDown - at.killed} ms; UP again ${at.upAgain - at.restarted} ms after its restart`,
    );
    assert.ok(lastSent - at.killed <= MARKED_DOWN_WITHIN_MS, `${lastSent - at.killed} ms`);
    assert.ok(
      load().some((r) => r.servedBy === victim && r.started > at.upAgain && r.status !== undefined && r.status < 300),
      "the restarted host answers",
    );
  });

  test("the drained host finishes what it accepted, and nothing fails meanwhile", (t) => {
    assert.equal(drainExitCode, 0, "every worker of the drained host stopped cleanly");
    const uploads = load().filter((r) => r.slow);
    assert.equal(uploads.length, SLOW_UPLOADS);
    assert.deepEqual(
      uploads.filter((r) => r.status !== 201),
      [],
      "every upload unfinished at SIGTERM is answered",
    );
    assert.ok(
      uploads.some((r) => r.servedBy === survivor),
      `some were on the drained host: ${uploads.map((r) => r.servedBy).join(", ")}`,
    );
    const during = load().filter((r) => r.ended >= at.drained);
    const onDrained = during.filter((r) => r.servedBy === survivor);
    assert.deepEqual(
      during.filter((r) => r.status === undefined || r.status >= 300),
      [],
    );
    const samples = balancer.samples[survivor] ?? [];
    const lastSent = lastSentAfter(samples, at.drained);
    t.diagnostic(
      `drained host: ${onDrained.length} requests answered after SIGTERM ` +
        `(${uploads.filter((r) => r.servedBy === survivor).length} of them unfinished at SIGTERM), the last connection sent to it ` +
        `${lastSent - at.drained} ms after it; exit after ${at.drainExit - at.drained} ms`,
    );
    assert.ok(lastSent - at.drained < SHUTDOWN_DELAY_MS, "no connection reached it after its listener closed");
  });

  test("the event stream moves to the other host with Last-Event-ID and misses no change", async (t) => {
    const stream = client.of<StreamRecord>("stream-open");
    const [first, ...reconnections] = stream;
    assert.equal(first?.servedBy, victim);
    const moved = reconnections.find((r) => r.status === 200);
    assert.equal(moved?.servedBy, survivor, JSON.stringify(stream));
    assert.ok(moved?.lastEventId, "it resumed from the last event seen");
    const acknowledged = (op: string, key: string) =>
      load()
        .filter((r) => r.op === op && r.status === 201)
        .map((r) => r.body?.[key] as number);
    const people = acknowledged("create-person", "person_id");
    const notes = acknowledged("create-note", "note_id");
    const seen = (event: string, key: string) =>
      new Set(
        client
          .of<StreamRecord>("event")
          .filter((r) => r.event === event)
          .map((r) => r.data?.[key]),
      );
    await waitUntil("every acknowledged write on the stream", WAIT_LIMIT_MS, () => {
      const [seenPeople, seenNotes] = [seen("person.created", "person_id"), seen("note.created", "note_id")];
      return people.every((id) => seenPeople.has(id)) && notes.every((id) => seenNotes.has(id)) ? true : undefined;
    }).catch((error: Error) => {
      const missing = notes.filter((id) => !seen("note.created", "note_id").has(id));
      throw new Error(`${error.message}; notes missing: ${missing.slice(0, 20).join(", ")}`);
    });
    const events = client.of<StreamRecord>("event").filter((r) => r.event !== "ready");
    const ends = client.of<StreamRecord>("stream-end").map((r) => r.how);
    t.diagnostic(
      `event stream: ${events.length} events; ended ${JSON.stringify(ends)}; opened ${JSON.stringify(stream.map((r) => `${r.status} ${r.servedBy ?? "-"}`))}`,
    );
    assert.ok(!events.some((r) => r.event === "reload"), "never told to reload");
    const ids = events.map((r) => Number(r.id));
    assert.deepEqual(
      ids.filter((id, i) => i > 0 && id <= (ids[i - 1] as number)),
      [],
      "each change once, in order",
    );
  });

  test("every acknowledged write reads back as it was written", async () => {
    const writes = load().filter((r) => r.status === 201);
    assert.ok(writes.length > 0);
    for (let i = 0; i < writes.length; i += 50) {
      const batch = writes.slice(i, i + 50);
      const answers = await Promise.all(
        batch.map((r) => {
          const body = r.body ?? {};
          return client.request(
            "GET",
            r.op === "create-person"
              ? `/api/people/${body.person_id}`
              : `/api/people/${body.person_id}/notes/${body.note_id}`,
          );
        }),
      );
      answers.forEach((answer, j) => {
        const write = batch[j] as LoadRecord;
        assert.equal(answer.status, 200, JSON.stringify({ write, answer }));
        for (const key of Object.keys(write.sent)) assert.equal(answer.body?.[key], write.sent[key]);
      });
    }
  });
});
