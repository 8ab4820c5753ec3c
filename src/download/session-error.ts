/** A failure of a download session to report to the user in one line. */
export class SessionError extends Error {}

/** The download was stopped by Ctrl-C or SIGTERM (the verified pieces are kept): exit 130, not 1. */
export class DownloadInterrupted extends SessionError {}
