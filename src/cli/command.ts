/** One `people-notes` command: `run` gets the arguments after its name and returns the exit code. */
export interface Command {
  /** One line for the usage text. */
  summary: string;
  /** Extra lines for the usage text: options, with their defaults. */
  options?: string;
  run(args: string[]): Promise<number>;
}
