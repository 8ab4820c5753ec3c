/**
 * What the seeder does before it serves: copy the data into its folder (it serves its own copy),
 * make the torrent, write `<name>.torrent` and copy it to the requester's folder.
 */
import { copyFile, cp, mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTorrent } from '../metainfo/create.ts';
import { parseMetainfo, type Metainfo } from '../metainfo/metainfo.ts';

export interface ShareOptions {
  seedDir: string;
  requesterDir: string;
  announceUrl: string;
  pieceLength: number | undefined;
  /** The web seed's base URL, or undefined for no url-list. */
  publicUrl: string | undefined;
}

/** Copy a file, or a folder's regular files and folders (symlinks followed), unless already there. */
async function copyInto(src: string, dest: string): Promise<void> {
  const same = await realpath(dest).then((p) => realpath(src).then((q) => p === q), () => false);
  if (same) return;
  if ((await stat(src)).isDirectory()) {
    // A fresh copy: files left from an earlier share of a changed folder must not be listed.
    await rm(dest, { recursive: true, force: true });
    await cp(src, dest, {
      recursive: true,
      dereference: true,
      filter: async (from) => {
        const st = await stat(from).catch(() => null);
        return !!st && (st.isDirectory() || st.isFile());
      },
    });
  } else {
    await copyFile(src, dest);
  }
}

/** Prepare `file` for seeding; `log` gets the user's lines. Resolves with the torrent's metainfo. */
export async function prepareShare(file: string, o: ShareOptions, log: (line: string) => void): Promise<Metainfo> {
  const name = path.basename(path.resolve(file));
  await mkdir(o.seedDir, { recursive: true });
  const dataPath = path.join(o.seedDir, name);
  await copyInto(file, dataPath);
  const { publicUrl } = o;
  const torrent = await makeTorrent(dataPath, name, {
    announce: o.announceUrl,
    pieceLength: o.pieceLength,
    urlList: publicUrl ? (hash) => [`${publicUrl}/webseed/${hash}/`] : undefined,
  });
  const torrentName = `${name}.torrent`;
  await writeFile(torrentName, torrent);
  log(`.torrent file created: ${torrentName}`);
  await mkdir(o.requesterDir, { recursive: true });
  await copyFile(torrentName, path.join(o.requesterDir, torrentName));
  log('.torrent file copied to requester folder');
  return parseMetainfo(torrent);
}
