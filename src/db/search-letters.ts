/**
 * SQLite: how the `words` column of `note_search` (migration 009) holds the words as written.
 *
 * The table's porter tokenizer stems every column, but it only ever rewrites endings of ASCII
 * letters. So every letter that would reach it as an ASCII letter, after unicode61 has folded case
 * and removed diacritics, is first moved to the private use area: a (and A, á, Å, …) to U+E000,
 * b to U+E001, and so on. unicode61 keeps those as letters of the word, and the porter tokenizer
 * leaves the word whole. Migration 009 builds the column's SQL from these same definitions: a
 * change here needs a migration that makes the table's view and triggers again.
 */

/** The first code point of the private use area, where `a` goes. */
export const LETTERS_MOVED_TO = 0xe000;

/** The blocks holding every letter unicode61 folds to an ASCII letter: Latin ones and the letterlike symbols. */
export const FOLDING_BLOCKS = [
  [0xc0, 0x24f],
  [0x1e00, 0x1eff],
  [0x2100, 0x214f],
] as const;

/**
 * Every letter other than an ASCII one that unicode61 (remove_diacritics 2) folds to an ASCII
 * letter, with that letter in lower case: those whose canonical decomposition is an ASCII letter
 * and marks (é, Ḉ, the Kelvin sign K), but Ǡ and ǡ, which it keeps, and ſ and ẛ, which it folds
 * to s. A test compares this with SQLite's own folding of every character.
 */
export function lettersFoldedToAscii(): Map<string, string> {
  const folded = new Map<string, string>();
  for (const [first, last] of FOLDING_BLOCKS) {
    for (let point = first; point <= last; point++) {
      const letter = String.fromCodePoint(point);
      const base = letter.normalize("NFD").replace(/\p{M}/gu, "");
      if (base !== letter && /^[A-Za-z]$/.test(base)) folded.set(letter, base.toLowerCase());
    }
  }
  folded.delete("\u01e0");
  folded.delete("\u01e1");
  folded.set("\u017f", "s");
  folded.set("\u1e9b", "s");
  return folded;
}

const FOLDED = lettersFoldedToAscii();
const LETTER = /[A-Za-z\u00c0-\u024f\u1e00-\u1eff\u2100-\u214f]/g;
const MOVED_LETTER = /[\uE000-\uE019]/g;

const moved = (ascii: string) => String.fromCharCode(LETTERS_MOVED_TO + ascii.charCodeAt(0) - 97);

/** A text as the `words` column holds it before its tokenizer runs: its letters moved. */
export function wordsColumnText(text: string): string {
  return text.replace(LETTER, (letter) => {
    if (letter <= "z") return moved(letter.toLowerCase());
    const ascii = FOLDED.get(letter);
    return ascii === undefined ? letter : moved(ascii);
  });
}

/** A term of the `words` column with its letters back in their place (folded: "Café" comes back as "cafe"). */
export function lettersInPlace(term: string): string {
  return term.replace(MOVED_LETTER, (letter) => String.fromCharCode(97 + letter.charCodeAt(0) - LETTERS_MOVED_TO));
}
