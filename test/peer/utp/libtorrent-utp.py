"""libtorrent over uTP only, as the judge of our uTP (test/peer/utp/libtorrent.test.ts).

argv: workdir seed_port leech_port node_port
1. writes 1 MiB of random data and a v1 torrent of it, seeds it on seed_port (uTP only);
   prints READY {info_hash, piece_length, length, data}
2. waits for GO on stdin (our node peer is listening on node_port and dialling the seeder),
   then a second, empty session dials node_port over uTP and downloads the torrent from it;
   prints LEECH_DONE / SEED_PEERS with the peers' uTP flags, or FAIL.
"""
import json
import os
import sys
import time

import libtorrent as lt

UTP_SOCKET = 1 << 17  # peer_info::utp_socket


def settings(port):
    return {
        'listen_interfaces': '127.0.0.1:%d' % port,
        'enable_outgoing_tcp': False,
        'enable_incoming_tcp': False,
        'enable_outgoing_utp': True,
        'enable_incoming_utp': True,
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'allow_multiple_connections_per_ip': True,
        # Plaintext BitTorrent: our test peer speaks no MSE (pe_disabled = 2).
        'out_enc_policy': 2,
        'in_enc_policy': 2,
        'alert_mask': lt.alert_category.error | lt.alert_category.peer | lt.alert_category.status,
    }


def say(tag, obj):
    print(tag, json.dumps(obj), flush=True)


def peers(handle):
    return [{'ip': list(p.ip), 'utp': bool(int(p.flags) & UTP_SOCKET), 'down': p.total_download,
             'up': p.total_upload} for p in handle.get_peer_info()]


def wait(cond, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def main():
    workdir, seed_port, leech_port, node_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seed_dir, leech_dir = os.path.join(workdir, 'seed'), os.path.join(workdir, 'leech')
    os.makedirs(seed_dir)
    os.makedirs(leech_dir)
    data = os.path.join(seed_dir, 'data.bin')
    with open(data, 'wb') as f:
        f.write(os.urandom(1 << 20))
    fs = lt.file_storage()
    lt.add_files(fs, data)
    ct = lt.create_torrent(fs, 65536, lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, seed_dir)
    ti = lt.torrent_info(ct.generate())

    seeder = lt.session(settings(seed_port))
    sh = seeder.add_torrent({'ti': ti, 'save_path': seed_dir})
    if not wait(lambda: sh.status().is_seeding, 20):
        return say('FAIL', {'why': 'seeder never finished checking'})
    say('READY', {'info_hash': str(ti.info_hashes().v1), 'piece_length': ti.piece_length(),
                  'length': ti.total_size(), 'data': data})

    if sys.stdin.readline().strip() != 'GO':
        return say('FAIL', {'why': 'no GO'})
    leecher = lt.session(settings(leech_port))
    lh = leecher.add_torrent({'ti': lt.torrent_info(ct.generate()), 'save_path': leech_dir})
    wait(lambda: lh.status().state == lt.torrent_status.downloading, 10)
    started = time.time()
    lh.connect_peer(('127.0.0.1', node_port))
    seen = []

    def done():
        # Remember the peers while they are connected: two seeds drop each other at the end.
        seen.extend(peers(lh))
        return lh.status().is_seeding
    ok = wait(done, 30)
    last = {}
    for p in seen:
        last[tuple(p['ip'])] = p
    say('LEECH_DONE' if ok else 'FAIL', {'why': 'leecher never completed', 'seconds': round(time.time() - started, 2),
                                          'peers': list(last.values()), 'progress': lh.status().progress})
    # The seeder's view of our node peer (which dialled it).
    wait(lambda: any(p['up'] >= (1 << 20) for p in peers(sh)), 30)
    say('SEED_PEERS', {'peers': peers(sh)})
    sys.stdin.readline()  # hold the sessions until the test is done with us


main()
