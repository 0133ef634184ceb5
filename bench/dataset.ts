/**
 * The benchmark datasets: deterministic, so every run and every engine gets the same people and notes.
 * Names are built from syllables (unique by their normalized key, as the service requires), note
 * texts from a word list, and note timestamps are distinct, increasing with the note id, and spread
 * over five years of activity by people who joined before.
 */

export type DatasetName = "tutorial" | "1k" | "1m";

export interface DatasetSize {
  people: number;
  notesPerPerson: number;
}

export const DATASETS: Record<Exclude<DatasetName, "tutorial">, DatasetSize> = {
  "1k": { people: 1_000, notesPerPerson: 10 },
  "1m": { people: 100_000, notesPerPerson: 10 },
};

export function isDatasetName(name: string): name is DatasetName {
  return name === "tutorial" || name in DATASETS;
}

/** mulberry32: small, fast and good enough to make test data. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

const ONSETS = ["b", "br", "c", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st", "t", "v", "w"];
const VOWELS = ["a", "e", "i", "o", "u", "ay", "ee", "ia", "ou"];
const CODAS = ["", "", "n", "r", "l", "s", "th", "ck", "nd", "rt"];

function syllableName(next: () => number, syllables: number): string {
  let name = "";
  for (let i = 0; i < syllables; i++) name += pick(next, ONSETS) + pick(next, VOWELS) + pick(next, CODAS);
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export interface GeneratedPerson {
  fname: string;
  lname: string;
  timestamp: string;
}

const PEOPLE_SINCE = Date.parse("2019-06-01T00:00:00.000Z");
const PEOPLE_UNTIL = Date.parse("2021-01-01T00:00:00.000Z");
const NOTES_SINCE = PEOPLE_UNTIL;
const NOTES_UNTIL = Date.parse("2026-01-01T00:00:00.000Z");

/**
 * `count` people with names unique under `key` (the service's own name normalization), joining in
 * order of id over the first period.
 */
export function generatePeople(count: number, key: (name: string) => string): GeneratedPerson[] {
  const next = random(1);
  const seen = new Set<string>();
  const people: GeneratedPerson[] = [];
  const step = (PEOPLE_UNTIL - PEOPLE_SINCE) / count;
  while (people.length < count) {
    const fname = syllableName(next, 1 + Math.floor(next() * 2));
    const lname = syllableName(next, 2 + Math.floor(next() * 2));
    const unique = `${key(fname)}\u0000${key(lname)}`;
    if (seen.has(unique)) continue;
    seen.add(unique);
    const at = PEOPLE_SINCE + Math.floor(people.length * step + next() * step);
    people.push({ fname, lname, timestamp: new Date(at).toISOString() });
  }
  return people;
}

const WORDS = (
  "the a of to and in is it that for on was with as I at be this have from or by one had not but what all " +
  "were when we there can an your which their said if do will each about how up out them then she many some " +
  "so these would other into has more her two like him see time could no make than first been its who now " +
  "people my made over did down only way find use may water long little very after words called just where " +
  "most know get through back much before go good new write our used me man too any day same right look think " +
  "also around another came come work three word must because does part even place well such here take why " +
  "things help put years different away again off went old number great tell men say small every found still " +
  "between name should home big give air line set own under read last never us left end along while might next " +
  "sound below saw something thought both few those always looked show large often together asked house world " +
  "going want school important until form food keep children feet land side without boy once animals life enough"
).split(" ");

/** A note of 4 to 40 words, like a short post. */
export function noteText(next: () => number): string {
  const words = 4 + Math.floor(next() * 37);
  let text = pick(next, WORDS);
  text = text.charAt(0).toUpperCase() + text.slice(1);
  for (let i = 1; i < words; i++) text += ` ${pick(next, WORDS)}`;
  return `${text}${pick(next, [".", ".", ".", "!", "?"])}`;
}

export interface GeneratedNote {
  /** Index into the people list, in insertion order. */
  author: number;
  content: string;
  timestamp: string;
}

/**
 * Every person writes exactly `perPerson` notes, at random moments of the second period. Notes come
 * out in time order, so note ids (given in insertion order) grow with the timestamp, as in real use.
 */
export function* generateNotes(people: number, perPerson: number): Generator<GeneratedNote> {
  const next = random(2);
  const total = people * perPerson;
  const authors = new Int32Array(total);
  for (let i = 0; i < total; i++) authors[i] = i % people;
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const swap = authors[i] as number;
    authors[i] = authors[j] as number;
    authors[j] = swap;
  }
  // Each note gets its own slot of whole milliseconds: timestamps are distinct and increasing.
  const slot = Math.floor((NOTES_UNTIL - NOTES_SINCE) / total);
  for (let i = 0; i < total; i++) {
    const at = NOTES_SINCE + i * slot + Math.floor(next() * slot);
    yield { author: authors[i] as number, content: noteText(next), timestamp: new Date(at).toISOString() };
  }
}
