/**
 * What a search query means, independently of the engine: the user's text becomes plain words
 * (nothing of it is ever read as FTS5 or tsquery syntax), the last word is a prefix while it is
 * being typed, and matches in a note are found again here as ranges of its text.
 */

/** Letters, digits and the marks on them: everything else (quotes, operators, `*`, `^`, `:`) only separates words. */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** What a word needs besides marks. */
const BEARER = /[\p{L}\p{N}\p{Co}]/u;

/** The last word matches as a prefix from this many characters on; a single letter matches only itself. */
export const MIN_PREFIX_LENGTH = 2;

export interface SearchQuery {
  /** The words as the user typed them, in order; at least one. */
  words: string[];
  /** Whether the last word matches every word it begins. */
  prefix: boolean;
}

/** The words of a query, or undefined when it has none (only punctuation or spaces). */
export function parseQuery(text: string): SearchQuery | undefined {
  // Marks with nothing to sit on are folded away by both engines, leaving no word at all.
  const words = (text.match(WORD) ?? []).filter((word) => BEARER.test(word));
  const last = words[words.length - 1];
  if (last === undefined) return undefined;
  return { words, prefix: [...last].length >= MIN_PREFIX_LENGTH };
}

/**
 * The FTS5 expression: every word as a quoted string (quotes doubled, although words hold none),
 * all of them required, the last one a prefix.
 */
export function fts5Expression(query: SearchQuery): string {
  const quoted = query.words.map((word) => `"${word.replaceAll('"', '""')}"`);
  if (query.prefix) quoted[quoted.length - 1] += "*";
  return quoted.join(" ");
}

/**
 * The text given to PostgreSQL's to_tsquery, as a bound parameter: each word quoted (words hold
 * only letters, digits and marks, so never a quote), so that to_tsquery never reads a word as
 * syntax, even one of characters it does not know as letters; the only operators are these.
 */
export function tsqueryText(query: SearchQuery): string {
  const last = query.words.length - 1;
  return query.words.map((word, i) => (query.prefix && i === last ? `'${word}':*` : `'${word}'`)).join(" & ");
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

/** Finds the words of a text that match a query, compared by their folded, stemmed forms. */
export function highlighter(query: SearchQuery): (field: Highlight["field"], text: string) => Highlight[] {
  const stems = query.words.map((word) => stem(foldToken(word)));
  const prefix = query.prefix ? stems.pop() : undefined;
  const exact = new Set(stems);
  return (field, text) => {
    const found: Highlight[] = [];
    for (const match of text.matchAll(WORD)) {
      const form = stem(foldToken(match[0]));
      if (exact.has(form) || (prefix !== undefined && form.startsWith(prefix))) {
        found.push({ field, start: match.index, end: match.index + match[0].length });
      }
    }
    return found;
  };
}
