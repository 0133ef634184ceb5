/** Where the data layer reports what it cannot throw (a failed checkpoint, an idle connection lost). */
export interface StoreLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLog: StoreLog = { warn() {}, error() {} };
