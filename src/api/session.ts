import type { PeopleService } from "../domain/people.js";
import type { ModuleHandlers } from "./types.js";

export interface SessionSources {
  people: PeopleService;
  /** Whether writes need a token right now. */
  accessControl: () => Promise<boolean>;
}

export function sessionHandlers({ people, accessControl }: SessionSources): ModuleHandlers<"session"> {
  return {
    async read(request) {
      const { principal } = request;
      const access_control = await accessControl();
      if (!principal) return { access_control, principal: null };
      const person =
        principal.personId === null
          ? null
          : await people.read(principal.personId).then(({ value }) => ({
              person_id: value.person_id,
              fname: value.fname,
              lname: value.lname,
            }));
      return {
        access_control,
        principal: { kind: principal.kind, name: principal.name, prefix: principal.prefix, person },
      };
    },
  };
}
