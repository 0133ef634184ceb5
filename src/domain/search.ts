import type { UnitOfWork } from "../db/executor.js";
import { nameKey } from "../db/names.js";
import type { PersonKey } from "../db/people-repository.js";
import {
  countMatches,
  countPeopleNamed,
  listPeopleNamed,
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
  foldToken,
  fts5Expression,
  type Highlight,
  highlighter,
  parseQuery,
  type SearchQuery,
  stem,
  tsqueryText,
} from "./search-text.js";
import type { Note, Person } from "./types.js";

/** A note found by a search, with where its words matched. */
export type FoundNote = Note & { highlights: Highlight[] };

/** How many of the newest matches are ranked together before the next, older window begins (SQLite). */
export const RANKING_WINDOW = 5_000;

/** From this length on, a last word is looked up among the indexed terms (SQLite). */
const FAST_PREFIX_LENGTH = 4;

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
   * Notes matching every word of `text` (the last one also as the start of a word), best first
   * within windows of the newest matches. Text with no words finds nothing.
   */
  async notes(text: string, limit: number, cursor?: string): Promise<Page<FoundNote>> {
    const start = decodeCursor<SearchCursor>(cursor, SEARCH_CURSOR);
    if (start) {
      const [ceiling, floor, , noteId] = start;
      if (floor > ceiling || noteId < floor || noteId > ceiling) throw invalidCursor();
    }
    const query = parseQuery(text);
    if (query === undefined) return { items: [], total: 0 };
    const searched = await this.asSearched(query);
    if (searched === undefined) return { items: [], total: 0 };
    const match = this.store.engine === "sqlite" ? fts5Expression(searched) : tsqueryText(searched);

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
   * SQLite: a last word of four characters or more that begins no indexed word but itself is
   * searched as that word (the same matches, without FTS5's prefix merge), and one that begins
   * none finds nothing. Shorter prefixes have their own prefix indexes.
   */
  private async asSearched(query: SearchQuery): Promise<SearchQuery | undefined> {
    const last = query.words[query.words.length - 1] ?? "";
    if (this.store.engine !== "sqlite" || !query.prefix || [...last].length < FAST_PREFIX_LENGTH) return query;
    const stemmed = stem(foldToken(last));
    const terms = await termsStartingWith(this.store, stemmed, 2);
    if (terms.length === 0) return undefined;
    return terms.length === 1 && terms[0] === stemmed ? { ...query, prefix: false } : query;
  }

  /** `wanted` matches from the cursor's place on, moving to older windows as each runs out. */
  private async rank(match: string, wanted: number, total: number, start?: SearchCursor): Promise<Found[]> {
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
