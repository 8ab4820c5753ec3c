/**
 * File-system failures in words a person understands: `ENOENT` means nothing to most users,
 * `No such file: x.torrent` does. Pure: the caller gives the error and the path it was about.
 */

/** The errno codes a user meets, said plainly; `path` is the file or folder concerned. */
export function fsErrorMessage(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `No such file: ${path}`;
    case 'ENOTDIR':
      return `No such file: ${path} (a part of the path is a file, not a folder)`;
    case 'EACCES':
    case 'EPERM':
      return `Permission denied: ${path}`;
    case 'EEXIST':
      return `${path} already exists`;
    case 'EISDIR':
      return `${path} is a folder, not a file`;
    case 'ENOSPC':
      return `Disk full at ${path}`;
    case 'EDQUOT':
      return `Disk quota exceeded at ${path}`;
    case 'EROFS':
      return `Read-only file system at ${path}`;
    case 'EMFILE':
    case 'ENFILE':
      return `Too many open files (while opening ${path}); raise the limit with ulimit -n`;
    case 'ENAMETOOLONG':
      return `File name too long: ${path}`;
    case 'ELOOP':
      return `Too many symbolic links (or a link where none is allowed): ${path}`;
    case 'EIO':
      return `Input/output error (a failing disk?) at ${path}`;
    default:
      return `${path}: ${stripErrno((e as Error | undefined)?.message ?? String(e))}`;
  }
}

/** Node's messages start `ENOENT: no such file or directory, open 'x'`: keep the words only. */
export function stripErrno(message: string): string {
  return message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '[^']*'$/, '');
}
