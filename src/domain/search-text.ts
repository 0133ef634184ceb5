import { wordsColumnText } from "../db/search-letters.js";
import type { NoteMatch } from "../db/search-repository.js";

/**
 * What a search query means, independently of the engine: the user's text becomes plain words
 * (nothing of it is ever read as FTS5 or tsquery syntax), and matches in a note are found again
 * here as ranges of its text. Every word matches the words with its stem (English stemming); the
 * last one, being typed, also every word it begins, from its first letter on, compared unstemmed:
 * "usef" finds "useful" although "useful" is stemmed to "us" (Porter) or "use" (Snowball).
 */

/** Letters, digits and the marks on them: everything else (quotes, operators, `*`, `^`, `:`) only separates words. */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** What a word needs besides marks. */
const BEARER = /[\p{L}\p{N}\p{Co}]/u;

export interface SearchQuery {
  /** The words as the user typed them, in order; at least one. The last one is also a beginning. */
  words: string[];
}

/**
 * How the last word is searched: whole (by its stem, as the other words), as the beginning of the
 * words as written, or both. SQLite leaves out a form that cannot add a note to the other.
 */
export interface LastWord {
  whole: boolean;
  beginning: boolean;
}

export const WHOLE_AND_BEGINNING: LastWord = { whole: true, beginning: true };

/** The words of a query, or undefined when it has none (only punctuation or spaces). */
export function parseQuery(text: string): SearchQuery | undefined {
  // Marks with nothing to sit on are folded away by both engines, leaving no word at all.
  const words = (text.match(WORD) ?? []).filter((word) => BEARER.test(word));
  return words.length === 0 ? undefined : { words };
}

/** A word as an FTS5 string (quotes doubled, although words hold none). */
const quoted = (word: string) => `"${word.replaceAll('"', '""')}"`;

/**
 * The FTS5 expression: every word whole, all of them required, and the last one also as the
 * beginning of a word in the `words` column, where letters are not stemmed: `"water" AND ("hous"
 * OR "…"*)`, the beginning's letters moved as in that column. No column filter is needed: no
 * ASCII letter is left in `words`, so a stem with one never matches there, nor a moved letter
 * elsewhere; a word without Latin letters is the same in all three columns. Either way the same
 * notes match, and FTS5 need not read the columns of every match.
 */
export function fts5Expression(query: SearchQuery, last: LastWord = WHOLE_AND_BEGINNING): NoteMatch {
  const words = query.words.map(quoted);
  const typed = query.words[query.words.length - 1] as string;
  const forms = [
    ...(last.whole ? [words[words.length - 1] as string] : []),
    ...(last.beginning ? [`${quoted(wordsColumnText(typed))}*`] : []),
  ];
  words[words.length - 1] = forms.length === 1 ? (forms[0] as string) : `(${forms.join(" OR ")})`;
  return { fts5: words.join(" AND ") };
}

/**
 * The texts given to PostgreSQL's to_tsquery, as bound parameters: each word quoted (words hold
 * only letters, digits and marks, so never a quote), so that to_tsquery never reads a word as
 * syntax, even one of characters it does not know as letters; the only operators are these.
 * Whole words match the stems (weight D), the beginning of the last one the words as written
 * (weight A).
 */
export function tsqueryTexts(query: SearchQuery): NoteMatch {
  const stems = query.words.map((word) => `'${word}':D`);
  const last = query.words[query.words.length - 1] as string;
  return { earlier: stems.slice(0, -1).join(" & "), last: stems[stems.length - 1] as string, prefix: `'${last}':*A` };
}

/** As SQLite's unicode61 tokenizer folds a token (remove_diacritics 2): lower case, without diacritics. */
export function foldToken(token: string): string {
  return token.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().normalize("NFC");
}

// The Porter stemmer as SQLite's FTS5 `porter` tokenizer applies it: to the token's UTF-8 bytes,
// tokens of 3 to 64 bytes only, non-ASCII bytes counting as consonants.
const MIN_STEMMED = 3;
const MAX_STEMMED = 64;
const A = "a".charCodeAt(0);
const E = "e".charCodeAt(0);
const I = "i".charCodeAt(0);
const O = "o".charCodeAt(0);
const U = "u".charCodeAt(0);
const Y = "y".charCodeAt(0);
const code = (c: string) => c.charCodeAt(0);

const isVowel = (c: number, yIsVowel: boolean) =>
  c === A || c === E || c === I || c === O || c === U || (yIsVowel && c === Y);

/** After the first vowel-consonant sequence of `w[from, to)`, the index following it, or 0. */
function gobbleVC(w: number[], from: number, to: number, previousConsonant: boolean): number {
  let consonant = previousConsonant;
  let i = from;
  for (; i < to; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    if (!consonant) break;
  }
  for (i++; i < to; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    if (consonant) return i + 1;
  }
  return 0;
}

const measureAbove0 = (w: number[], n: number) => gobbleVC(w, 0, n, false) !== 0;
function measureAbove1(w: number[], n: number): boolean {
  const first = gobbleVC(w, 0, n, false);
  return first !== 0 && gobbleVC(w, first, n, true) !== 0;
}
function measureIs1(w: number[], n: number): boolean {
  const first = gobbleVC(w, 0, n, false);
  return first !== 0 && gobbleVC(w, first, n, true) === 0;
}
/** Ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(w: number[], n: number): boolean {
  const last = w[n - 1] as number;
  if (last === code("w") || last === code("x") || last === code("y")) return false;
  let mask = 0;
  let consonant = false;
  for (let i = 0; i < n; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    mask = ((mask << 1) | (consonant ? 1 : 0)) & 0x7;
  }
  return mask === 0x5;
}
function hasVowel(w: number[], n: number): boolean {
  for (let i = 0; i < n; i++) if (isVowel(w[i] as number, i > 0)) return true;
  return false;
}
const above1SorT = (w: number[], n: number) =>
  (w[n - 1] === code("s") || w[n - 1] === code("t")) && measureAbove1(w, n);

type Condition = (w: number[], stemLength: number) => boolean;
type Rule = [suffix: string, condition: Condition, replacement: string];

function endsWith(w: number[], n: number, suffix: string): boolean {
  if (n <= suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (w[n - suffix.length + i] !== suffix.charCodeAt(i)) return false;
  return true;
}

/** The first rule whose suffix the word ends with decides; it applies when its condition holds. */
function applyRules(w: number[], n: number, rules: readonly Rule[]): number {
  for (const [suffix, condition, replacement] of rules) {
    if (!endsWith(w, n, suffix)) continue;
    const stem = n - suffix.length;
    if (!condition(w, stem)) return n;
    for (let i = 0; i < replacement.length; i++) w[stem + i] = replacement.charCodeAt(i);
    return stem + replacement.length;
  }
  return n;
}

const STEP_2: readonly Rule[] = [
  ["ational", measureAbove0, "ate"],
  ["tional", measureAbove0, "tion"],
  ["enci", measureAbove0, "ence"],
  ["anci", measureAbove0, "ance"],
  ["izer", measureAbove0, "ize"],
  ["logi", measureAbove0, "log"],
  ["bli", measureAbove0, "ble"],
  ["alli", measureAbove0, "al"],
  ["entli", measureAbove0, "ent"],
  ["eli", measureAbove0, "e"],
  ["ousli", measureAbove0, "ous"],
  ["ization", measureAbove0, "ize"],
  ["ation", measureAbove0, "ate"],
  ["ator", measureAbove0, "ate"],
  ["alism", measureAbove0, "al"],
  ["iveness", measureAbove0, "ive"],
  ["fulness", measureAbove0, "ful"],
  ["ousness", measureAbove0, "ous"],
  ["aliti", measureAbove0, "al"],
  ["iviti", measureAbove0, "ive"],
  ["biliti", measureAbove0, "ble"],
];
const STEP_3: readonly Rule[] = [
  ["ical", measureAbove0, "ic"],
  ["ness", measureAbove0, ""],
  ["icate", measureAbove0, "ic"],
  ["iciti", measureAbove0, "ic"],
  ["ful", measureAbove0, ""],
  ["ative", measureAbove0, ""],
  ["alize", measureAbove0, "al"],
];
const STEP_4: readonly Rule[] = [
  ["al", measureAbove1, ""],
  ["ance", measureAbove1, ""],
  ["ence", measureAbove1, ""],
  ["er", measureAbove1, ""],
  ["ic", measureAbove1, ""],
  ["able", measureAbove1, ""],
  ["ible", measureAbove1, ""],
  ["ant", measureAbove1, ""],
  ["ement", measureAbove1, ""],
  ["ment", measureAbove1, ""],
  ["ent", measureAbove1, ""],
  ["ion", above1SorT, ""],
  ["ou", measureAbove1, ""],
  ["ism", measureAbove1, ""],
  ["ate", measureAbove1, ""],
  ["iti", measureAbove1, ""],
  ["ous", measureAbove1, ""],
  ["ive", measureAbove1, ""],
  ["ize", measureAbove1, ""],
];

/**
 * Rules sharing their next-to-last letter are tried in the order above, as SQLite groups them; a
 * word matching none of its group's suffixes is left as it is.
 */
function applyStep(w: number[], n: number, rules: readonly Rule[]): number {
  const key = w[n - 2];
  return applyRules(
    w,
    n,
    rules.filter(([suffix]) => suffix.charCodeAt(suffix.length - 2) === key),
  );
}

/** The stem SQLite's porter tokenizer indexes for a folded token. */
export function stem(token: string): string {
  const bytes = Buffer.from(token, "utf8");
  if (bytes.length < MIN_STEMMED || bytes.length > MAX_STEMMED) return token;
  const w = [...bytes];
  let n = w.length;

  // Step 1a: plurals.
  if (w[n - 1] === code("s")) {
    if (w[n - 2] === E) {
      if ((n > 4 && w[n - 4] === code("s") && w[n - 3] === code("s")) || (n > 3 && w[n - 3] === I)) n -= 2;
      else n -= 1;
    } else if (w[n - 2] !== code("s")) {
      n -= 1;
    }
  }

  // Step 1b: -eed, -ed, -ing.
  let removed = false;
  if (endsWith(w, n, "eed")) {
    if (measureAbove0(w, n - 3)) n -= 1;
  } else if (endsWith(w, n, "ed")) {
    if (hasVowel(w, n - 2)) {
      n -= 2;
      removed = true;
    }
  } else if (endsWith(w, n, "ing")) {
    if (hasVowel(w, n - 3)) {
      n -= 3;
      removed = true;
    }
  }
  if (removed) {
    if (endsWith(w, n, "at") || endsWith(w, n, "bl") || endsWith(w, n, "iz")) {
      w[n] = E;
      n += 1;
    } else {
      const last = w[n - 1] as number;
      if (
        !isVowel(last, false) &&
        last !== code("l") &&
        last !== code("s") &&
        last !== code("z") &&
        last === w[n - 2]
      ) {
        n -= 1;
      } else if (measureIs1(w, n) && endsCvc(w, n)) {
        w[n] = E;
        n += 1;
      }
    }
  }

  // Step 1c: y to i after a vowel.
  if (w[n - 1] === Y && hasVowel(w, n - 1)) w[n - 1] = I;

  n = applyStep(w, n, STEP_2);
  n = applyStep(w, n, STEP_3);
  n = applyStep(w, n, STEP_4);

  // Step 5a: a final e.
  if (w[n - 1] === E && (measureAbove1(w, n - 1) || (measureIs1(w, n - 1) && !endsCvc(w, n - 1)))) n -= 1;
  // Step 5b: a final double l.
  if (n > 1 && w[n - 1] === code("l") && w[n - 2] === code("l") && measureAbove1(w, n - 1)) n -= 1;

  return Buffer.from(w.slice(0, n)).toString("utf8");
}

/** A matched word in one of the fields a search reads, as UTF-16 offsets into the field's text. */
export interface Highlight {
  field: "content" | "fname" | "lname";
  start: number;
  end: number;
}

/**
 * Finds the words of a text that match a query: those with the stem of a query word, and those
 * the last query word begins, compared folded.
 */
export function highlighter(query: SearchQuery): (field: Highlight["field"], text: string) => Highlight[] {
  const stems = new Set(query.words.map((word) => stem(foldToken(word))));
  const beginning = foldToken(query.words[query.words.length - 1] as string);
  return (field, text) => {
    const found: Highlight[] = [];
    for (const match of text.matchAll(WORD)) {
      const folded = foldToken(match[0]);
      if (folded.startsWith(beginning) || stems.has(stem(folded))) {
        found.push({ field, start: match.index, end: match.index + match[0].length });
      }
    }
    return found;
  };
}
