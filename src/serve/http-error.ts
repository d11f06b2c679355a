/** An error that becomes an HTTP answer: its status, and OpenAI's error type. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

/** The OpenAI error type of a status the model's thread gave. */
export function typeOfStatus(status: number): string {
  return status >= 500 ? "server_error" : "invalid_request_error";
}
