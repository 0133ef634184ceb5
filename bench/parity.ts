/**
 * Before any load: the service and the baseline must give the same answers, or the comparison
 * means nothing. Reads must match byte for byte (status, body and headers, except the date, the
 * request id and the service's Server-Timing with tracing on, which differ by nature). Writes are compared with the new id and timestamp masked,
 * then each side's new note is read back from both servers and must match byte for byte.
 */
import type { Target } from "./load.js";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers whose values differ between any two answers. */
const VARYING = new Set(["date", "x-request-id"]);
/** Headers only the service sends, and only when configured so: Server-Timing with tracing on. */
const LEFT_OUT = new Set(["server-timing"]);

async function ask(baseUrl: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (LEFT_OUT.has(name)) return;
    headers[name] = VARYING.has(name) ? "(varies)" : value;
  });
  return { status: response.status, headers, body: await response.text() };
}

function differences(label: string, a: Answer, b: Answer): string[] {
  const found: string[] = [];
  if (a.status !== b.status) found.push(`${label}: status ${a.status} vs ${b.status}`);
  if (a.body !== b.body) found.push(`${label}: bodies differ\n  service:  ${a.body}\n  baseline: ${b.body}`);
  const names = new Set([...Object.keys(a.headers), ...Object.keys(b.headers)]);
  for (const name of names) {
    if (a.headers[name] !== b.headers[name]) {
      found.push(`${label}: header ${name}: ${a.headers[name]} vs ${b.headers[name]}`);
    }
  }
  return found;
}

/**
 * Replaces what a write makes new (the note id, the time, and so the tag's id and version: both
 * servers write to the same note one after the other) so two writes can be compared.
 */
function masked(answer: Answer): Answer {
  const body = answer.body
    .replace(/"note_id":\d+/, '"note_id":0')
    .replace(/"timestamp":"[^"]+"/, '"timestamp":"(now)"');
  const headers = { ...answer.headers };
  if (headers.location) headers.location = headers.location.replace(/\d+$/, "(id)");
  if (headers.etag) headers.etag = headers.etag.replace(/^"n\d+\.\d+\./, '"n(id).(version).');
  return { ...answer, body, headers };
}

export async function compareReads(service: string, baseline: string, targets: Target[]): Promise<string[]> {
  const found: string[] = [];
  for (const target of targets) {
    const [a, b] = await Promise.all([ask(service, "GET", target.path), ask(baseline, "GET", target.path)]);
    found.push(...differences(`GET ${target.path}`, a, b));
  }
  return found;
}

async function readBoth(service: string, baseline: string, path: string): Promise<string[]> {
  const [a, b] = await Promise.all([ask(service, "GET", path), ask(baseline, "GET", path)]);
  return differences(`GET ${path} after a write`, a, b);
}

/** Writes one note through each server, changes one through each, and reads every result from both. */
export async function compareWrites(
  service: string,
  baseline: string,
  personId: number,
  noteId: number,
): Promise<string[]> {
  const found: string[] = [];
  const create = `/api/people/${personId}/notes`;
  const content = { content: "  A note written by both servers.  " };
  const a = await ask(service, "POST", create, content);
  const b = await ask(baseline, "POST", create, content);
  if (a.status !== 201) found.push(`POST ${create}: the service answered ${a.status}`);
  found.push(...differences(`POST ${create}`, masked(a), masked(b)));
  for (const answer of [a, b]) {
    const location = answer.headers.location;
    if (location) found.push(...(await readBoth(service, baseline, location)));
  }

  const change = `/api/people/${personId}/notes/${noteId}`;
  const c = await ask(service, "PUT", change, { content: "Changed through server A." });
  found.push(...(await readBoth(service, baseline, change)));
  const d = await ask(baseline, "PUT", change, { content: "Changed through server B." });
  found.push(...(await readBoth(service, baseline, change)));
  if (c.status !== 200) found.push(`PUT ${change}: the service answered ${c.status}`);
  const sameContent = (answer: Answer) => ({
    ...masked(answer),
    body: masked(answer).body.replace("server B", "server A"),
  });
  found.push(...differences(`PUT ${change}`, sameContent(c), sameContent(d)));
  return found;
}
