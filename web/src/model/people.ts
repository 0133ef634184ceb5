import { api, type Person, type PersonInput, unwrap } from "./api.js";
import { type Page, toPage } from "./paging.js";

export async function listPeople(limit: number, cursor?: string): Promise<Page<Person>> {
  const result = await api.GET("/people", { params: { query: { limit, cursor } } });
  return toPage(unwrap(result), result.response);
}

export async function readPerson(personId: number): Promise<Person> {
  return unwrap(await api.GET("/people/{person_id}", { params: { path: { person_id: personId } } }));
}

export async function createPerson(input: PersonInput): Promise<Person> {
  return unwrap(await api.POST("/people", { body: input }));
}

export async function updatePerson(personId: number, input: PersonInput): Promise<Person> {
  return unwrap(await api.PUT("/people/{person_id}", { params: { path: { person_id: personId } }, body: input }));
}

export async function deletePerson(personId: number): Promise<void> {
  unwrap(await api.DELETE("/people/{person_id}", { params: { path: { person_id: personId } } }));
}

export function fullName(person: Pick<Person, "fname" | "lname">): string {
  return `${person.fname} ${person.lname}`;
}
