/** An error about a user's file or input: the message names the file and the field, tensor or line. */
export class InputError extends Error {
  constructor(message: string, readonly file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = "InputError";
  }
}
