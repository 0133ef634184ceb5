import { api, ifMatch, type Person, type PersonInput, type Tagged, unwrap, unwrapTagged } from "./api.js";
import { type Page, toPage } from "./paging.js";

export async function listPeople(limit: number, cursor?: string): Promise<Page<Person>> {
  const result = await api.GET("/people", { params: { query: { limit, cursor } } });
  return toPage(unwrap(result), result.response);
}

function personPath(personId: number) {
  return { path: { person_id: personId } };
}

export async function readPerson(personId: number): Promise<Tagged<Person>> {
  return unwrapTagged(await api.GET("/people/{person_id}", { params: personPath(personId) }));
}

export async function createPerson(input: PersonInput): Promise<Tagged<Person>> {
  return unwrapTagged(await api.POST("/people", { body: input }));
}

export async function updatePerson(
  personId: number,
  input: PersonInput,
  etag: string | undefined,
): Promise<Tagged<Person>> {
  return unwrapTagged(
    await api.PUT("/people/{person_id}", { params: { ...personPath(personId), header: ifMatch(etag) }, body: input }),
  );
}

export async function deletePerson(personId: number, etag: string | undefined): Promise<void> {
  unwrap(await api.DELETE("/people/{person_id}", { params: { ...personPath(personId), header: ifMatch(etag) } }));
}

export function fullName(person: Pick<Person, "fname" | "lname">): string {
  return `${person.fname} ${person.lname}`;
}
