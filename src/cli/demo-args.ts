/**
 * The demo's command line: its ports (so that it runs beside another tracker or seeder), --keep,
 * --help; and a check that each port is free before anything starts, said in one line that
 * names the flag which changes it.
 */
import net from 'node:net';
import { die, parseFlags, parsePortFlag } from './common.ts';
import { listenErrorMessage } from '../net/listen-error.ts';

const usage = `usage: npm run demo -- [--keep] [--tracker-port 5001] [--seeder-port 6881] [--requester-port 6882] [--second-port 6883]
  Runs the report's three steps as real programs on example.txt: a tracker, a seeder, a requester
  (which seeds once it has the file), then a second requester that downloads from both, and checks
  the bytes. Exit 0 when the copies are identical.
  --keep            leave tracker, seeder and requester running afterwards (Ctrl-C stops them)
  --tracker-port    the tracker's port (default 5001)
  --seeder-port     the seeder's port (default 6881)
  --requester-port  the first requester's port; it saves into peer_<port> (default 6882)
  --second-port     the second requester's port (default 6883)`;

export interface DemoArgs {
  keep: boolean;
  trackerPort: number;
  seederPort: number;
  requesterPort: number;
  secondPort: number;
}

export function parseDemoArgs(): DemoArgs {
  const { values } = parseFlags(
    { keep: { type: 'boolean' }, 'tracker-port': { type: 'string' }, 'seeder-port': { type: 'string' }, 'requester-port': { type: 'string' }, 'second-port': { type: 'string' } },
    usage,
    0,
  );
  const args = {
    keep: values['keep'] === true,
    trackerPort: parsePortFlag(values['tracker-port'], 'tracker-port', 5001),
    seederPort: parsePortFlag(values['seeder-port'], 'seeder-port', 6881),
    requesterPort: parsePortFlag(values['requester-port'], 'requester-port', 6882),
    secondPort: parsePortFlag(values['second-port'], 'second-port', 6883),
  };
  const ports = [args.trackerPort, args.seederPort, args.requesterPort, args.secondPort];
  if (new Set(ports).size !== ports.length) die('the four ports must differ', 2);
  return args;
}

/** Ends the program with one line (naming the flag to change) if a port of the demo is busy. */
export async function checkDemoPorts(a: DemoArgs): Promise<void> {
  const roles: Array<[number, string, string]> = [
    [a.trackerPort, '--tracker-port', "tracker's port"],
    [a.seederPort, '--seeder-port', "seeder's port"],
    [a.requesterPort, '--requester-port', "requester's port"],
    [a.secondPort, '--second-port', "second requester's port"],
  ];
  for (const [port, flag, what] of roles) {
    const problem = await new Promise<string | undefined>((resolve) => {
      const probe = net.createServer();
      probe.once('error', (e: NodeJS.ErrnoException) => resolve(listenErrorMessage(e, '127.0.0.1', port, flag, what)));
      probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(undefined)));
    });
    if (problem) die(problem);
  }
}
