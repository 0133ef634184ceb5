import type { Note, Person } from "../model/api.js";
import type { LiveChange } from "../model/live.js";
import type { PagedList } from "../model/paged-list.js";

/**
 * Keeps a list of notes (everyone's, or one person's when `personId` is given) up to date with
 * the changes others make: a new note goes on top, an edit replaces the note where it is, a
 * deletion takes it away, a note (or person) restored from the trash comes back in its place
 * (a reload: it keeps its old time). Only the list changes: what the user is typing and where they have
 * scrolled to stay as they are.
 */
export function followNotes(notes: PagedList<Note>, change: LiveChange, personId?: number): void {
  const mine = (id: number) => personId === undefined || id === personId;
  switch (change.event) {
    case "note.created":
      if (mine(change.data.person_id)) notes.put(change.data, { atTop: true });
      return;
    case "note.updated":
      if (mine(change.data.person_id)) notes.put(change.data);
      return;
    case "note.deleted":
      notes.remove(change.data.note_id);
      return;
    case "note.restored":
      if (mine(change.data.person_id)) void notes.reload({ keepShown: true });
      return;
    case "person.restored":
      // Their notes came back with them, without events of their own.
      if (mine(change.data.person_id)) void notes.reload({ keepShown: true });
      return;
    case "person.updated": {
      const person = change.data;
      notes.updateWhere((note) => (note.person_id === person.person_id ? { ...note, person } : undefined));
      return;
    }
    case "person.deleted":
      // Their notes went with them, without events of their own.
      if (personId === undefined && notes.items.some((note) => note.person_id === change.data.person_id)) {
        void notes.reload({ keepShown: true });
      }
      return;
    case "reload":
      void notes.reload({ keepShown: true });
      return;
    case "connected":
      reloadIfFailed(notes);
      return;
    case "person.created":
      return;
  }
}

/**
 * A list that could not be loaded (the server was unreachable, say) is loaded again once the event
 * stream reconnects: the server is back, and "Live" must not stand beside an error.
 */
export function reloadIfFailed<T>(list: PagedList<T>): void {
  if (list.status === "error") void list.reload();
}

/** The same for the list of people, which is sorted by name: a new person is placed by a reload. */
export function followPeople(people: PagedList<Person>, change: LiveChange): void {
  switch (change.event) {
    case "person.created":
      void people.reload({ keepShown: true }).then(() => people.highlight(change.data.person_id));
      return;
    case "person.updated": {
      const person = change.data;
      people.updateWhere((each) => (each.person_id === person.person_id ? { ...each, ...person } : undefined));
      return;
    }
    case "person.deleted":
      people.remove(change.data.person_id);
      return;
    case "person.restored":
    case "note.restored":
    case "reload":
      // A restored person, or a restored note among a person's newest, goes back in its place.
      void people.reload({ keepShown: true });
      return;
    case "connected":
      reloadIfFailed(people);
      return;
    default:
      return;
  }
}
