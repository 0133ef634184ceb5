import type { ApiError, PersonInput } from "./api.js";
import { checkFirstName, checkLastName } from "./limits.js";

export type PersonField = keyof PersonInput;
export type FieldErrors<F extends string> = Partial<Record<F, string>>;

/**
 * What the person editor holds: the typed names (kept until the server accepts them), the errors
 * per field, and the server's answer when it refused.
 */
export class PersonForm {
  fname = "";
  lname = "";
  /** Field errors show from the first attempt to save, then follow every keystroke. */
  attempted = false;
  serverErrors: FieldErrors<PersonField> = {};
  problem: string | undefined;

  fill(person: PersonInput | undefined): void {
    this.fname = person?.fname ?? "";
    this.lname = person?.lname ?? "";
    this.attempted = false;
    this.serverErrors = {};
    this.problem = undefined;
  }

  /** True when the names are no longer what `fill(person)` put there. */
  differsFrom(person: PersonInput): boolean {
    return this.fname !== person.fname || this.lname !== person.lname;
  }

  set(field: PersonField, value: string): void {
    this[field] = value;
    delete this.serverErrors[field];
  }

  get errors(): FieldErrors<PersonField> {
    if (!this.attempted) return this.serverErrors;
    return {
      fname: checkFirstName(this.fname) ?? this.serverErrors.fname,
      lname: checkLastName(this.lname) ?? this.serverErrors.lname,
    };
  }

  /** The first field that needs fixing, after marking the form as attempted. */
  validate(): PersonField | undefined {
    this.attempted = true;
    const errors = this.errors;
    return (["fname", "lname"] as const).find((field) => errors[field] !== undefined);
  }

  get input(): PersonInput {
    return { fname: this.fname.trim(), lname: this.lname.trim() };
  }

  refused(error: ApiError): void {
    this.problem = error.message;
    for (const field of error.fields) {
      const name = field.pointer?.replace(/^\//, "");
      if (name === "fname" || name === "lname") this.serverErrors[name] = field.message;
    }
  }
}
