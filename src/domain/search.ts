import type { UnitOfWork } from "../db/executor.js";
import { nameKey } from "../db/names.js";
import type { PersonKey } from "../db/people-repository.js";
import { lettersInPlace, wordsColumnText } from "../db/search-letters.js";
import {
  countMatches,
  countPeopleNamed,
  listPeopleNamed,
  type NoteMatch,
  type RankedNoteRow,
  type RankedPosition,
  rankedNotes,
  type SearchWindow,
  termsStartingWith,
  windowFloor,
} from "../db/search-repository.js";
import { decodeCursor, invalidCursor, type Page, toPage } from "./paging.js";
import { PERSON_CURSOR, pageOfPeople } from "./people.js";
import {
  fts5Expression,
  type Highlight,
  highlighter,
  type LastWord,
  parseQuery,
  type SearchQuery,
  stem,
  tsqueryTexts,
  WHOLE_AND_BEGINNING,
} from "./search-text.js";
import type { Note, Person } from "./types.js";

/** A note found by a search, with where its words matched. */
export type FoundNote = Note & { highlights: Highlight[] };

/** How many of the newest matches are ranked together before the next, older window begins (SQLite). */
export const RANKING_WINDOW = 5_000;

/**
 * From this length on, the words a last word begins are looked up among the indexed terms
 * (SQLite): shorter beginnings have prefix indexes of their own.
 */
const FAST_PREFIX_LENGTH = 4;
/** A word as the `words` column holds it, when it is made of Latin letters and digits only. */
const MOVED_LETTERS_AND_DIGITS = /^[\uE000-\uE0190-9]+$/;
/** A two-letter stem that does not begin all its words: "ays", "ayed" and "aying" are stemmed "ai". */
const VOWEL_AND_I = /^[aeiou]i$/;
/** How many of the words it begins are looked at: each one costs a read of its list of notes. */
const BEGUN_WORDS_LOOKED_AT = 3;

/** The highest note id there can be: the first window has no upper end. */
const NO_CEILING = Number.MAX_SAFE_INTEGER;

/** A search cursor: the window of the last note shown, and its place in that window's ranking. */
type SearchCursor = [ceiling: number, floor: number, score: number, noteId: number];
const SEARCH_CURSOR = ["id", "id", "score", "id"] as const;

interface Found extends RankedNoteRow {
  window: SearchWindow;
}

function found(query: SearchQuery): (row: Found) => FoundNote {
  const highlight = highlighter(query);
  return (row) => ({
    note_id: row.note_id,
    person_id: row.person_id,
    content: row.content,
    timestamp: row.timestamp,
    person: { person_id: row.person_id, fname: row.fname, lname: row.lname, timestamp: row.person_timestamp },
    highlights: [
      ...highlight("content", row.content),
      ...highlight("fname", row.fname),
      ...highlight("lname", row.lname),
    ],
  });
}

/** Searches: notes by the words of their content and their author's names, people by name prefix. */
export class SearchService {
  private readonly window: number;

  /**
   * `window`: how many matches are ranked together. On PostgreSQL all of them by default: the GIN
   * index gives no order, so finding where a window of the newest matches ends reads every match
   * from the table anyway (and for two common words, stepping down the primary key instead read
   * half the table).
   */
  constructor(
    private readonly store: UnitOfWork,
    window?: number,
  ) {
    this.window = window ?? (store.engine === "sqlite" ? RANKING_WINDOW : Number.POSITIVE_INFINITY);
  }

  /**
   * Notes matching every word of `text` (the last one also as the beginning of a word, at any
   * length), best first within windows of the newest matches. Text with no words finds nothing.
   */
  async notes(text: string, limit: number, cursor?: string): Promise<Page<FoundNote>> {
    const start = decodeCursor<SearchCursor>(cursor, SEARCH_CURSOR);
    if (start) {
      const [ceiling, floor, , noteId] = start;
      if (floor > ceiling || noteId < floor || noteId > ceiling) throw invalidCursor();
    }
    const query = parseQuery(text);
    if (query === undefined) return { items: [], total: 0 };
    const match =
      this.store.engine === "sqlite" ? fts5Expression(query, await this.lastWord(query)) : tsqueryTexts(query);

    // Counted first: when every match fits in one window, finding where the window ends is not needed.
    const total = await countMatches(this.store, match);
    const rows = total === 0 ? [] : await this.rank(match, limit + 1, total, start);
    return toPage(
      rows,
      limit,
      total,
      (row) => [row.window.ceiling, row.window.floor, row.score, row.note_id],
      found(query),
    );
  }

  /**
   * SQLite: how the last word is searched, leaving out a form that cannot add a note to the other.
   * Only a word of Latin letters and digits is looked at, as its folded form is then known exactly.
   * - One or two characters that are their own stem: only as a beginning. Every word stemmed to
   *   them begins with them (stems keep the start of their word), except a vowel and y, stemmed to
   *   the vowel and i ("ays" is "ai"), which is searched both ways.
   * - Four or more: only whole, when every word it begins has its stem, which the whole word finds
   *   already ("water", "waters"), or when it begins no word at all. This spares FTS5 merging the
   *   lists of every word a prefix begins; shorter beginnings have prefix indexes of their own.
   */
  private async lastWord(query: SearchQuery): Promise<LastWord> {
    const indexed = wordsColumnText(query.words[query.words.length - 1] as string);
    if (!MOVED_LETTERS_AND_DIGITS.test(indexed)) return WHOLE_AND_BEGINNING;
    const folded = lettersInPlace(indexed);
    const own = stem(folded);
    if (folded.length <= 2 && own === folded && !VOWEL_AND_I.test(folded)) return { whole: false, beginning: true };
    if (folded.length < FAST_PREFIX_LENGTH) return WHOLE_AND_BEGINNING;
    const begun = await termsStartingWith(this.store, indexed, BEGUN_WORDS_LOOKED_AT);
    if (begun.length === BEGUN_WORDS_LOOKED_AT) return WHOLE_AND_BEGINNING;
    return begun.every((term) => stem(lettersInPlace(term)) === own)
      ? { whole: true, beginning: false }
      : WHOLE_AND_BEGINNING;
  }

  /** `wanted` matches from the cursor's place on, moving to older windows as each runs out. */
  private async rank(match: NoteMatch, wanted: number, total: number, start?: SearchCursor): Promise<Found[]> {
    let window: SearchWindow;
    let position: RankedPosition | undefined;
    if (start) {
      window = { ceiling: start[0], floor: start[1] };
      position = { score: start[2], noteId: start[3] };
    } else {
      const floor = total <= this.window ? 1 : await windowFloor(this.store, match, NO_CEILING, this.window);
      window = { ceiling: NO_CEILING, floor };
    }
    const rows: Found[] = [];
    for (;;) {
      const current = window;
      const ranked = await rankedNotes(this.store, match, current, wanted - rows.length, position);
      for (const row of ranked) rows.push({ ...row, window: current });
      if (rows.length >= wanted || current.floor <= 1) return rows;
      const ceiling = current.floor - 1;
      window = { ceiling, floor: await windowFloor(this.store, match, ceiling, this.window) };
      position = undefined;
    }
  }

  /** People whose first or last name starts with `text` (compared as name keys: case and spacing aside). */
  async people(text: string, limit: number, cursor?: string): Promise<Page<Person>> {
    const after = decodeCursor<PersonKey>(cursor, PERSON_CURSOR);
    const prefix = nameKey(text);
    const [rows, total] = await Promise.all([
      listPeopleNamed(this.store, prefix, limit + 1, after),
      countPeopleNamed(this.store, prefix),
    ]);
    return pageOfPeople(this.store, rows, limit, total);
  }
}
