/** A failure of a download session to report to the user in one line. */
export class SessionError extends Error {}
