"""Reference node: a test fixture, not part of hearsay.

A small re-creation of the asyncio Python gossip node that hearsay must
interoperate with, written from /work/shared/REFERENCE.md (the facts a compatible
peer needs). Integration specs start it beside hearsay nodes and check that the
two understand each other. Its quirks are reproduced on purpose, notably: a
GET /peers list is turned into peer records as PeerInfo(**entry), so one entry
with an unexpected (or missing) key makes the whole list rejected.

Run with the system Python (python3-aiohttp):
    /usr/bin/python3 ref_node.py --port 0 [--host 127.0.0.1] [--node-id ID]
        [--bootstrap URL ...] [--fanout 3] [--gossip-interval 5]
        [--health-interval 30] [--public-url URL]
Once bound and bootstrapped it prints one line "READY <port> <node_id>" on
stdout; everything else goes to stderr.

Test-only endpoints (not in the reference): POST /_test/broadcast with
{"type", "payload"} broadcasts a new message and answers {"message_id"};
GET /_test/received lists the envelopes accepted so far, as received.
"""
import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import random
import signal
import socket
import sys
import time
import uuid

from aiohttp import ClientSession, ClientTimeout, web

log = logging.getLogger("ref_node")

TTL_START = 10
SEEN_EXPIRY = 300.0      # seconds a message id stays in the seen cache
SEEN_SWEEP = 60.0        # how often the seen cache is swept
PEER_DEAD_AFTER = 300.0  # a peer not seen for this long is removed
SEND_TIMEOUT = ClientTimeout(total=5)


@dataclasses.dataclass
class PeerInfo:
    # Exactly the six keys of a /peers entry; PeerInfo(**entry) is the strictness.
    peer_id: str
    url: str
    last_seen: float
    merkle_root: str
    is_healthy: bool
    latency_ms: float


def make_message_id(mtype, payload, timestamp, node):
    blob = json.dumps({"type": mtype, "payload": payload,
                       "timestamp": timestamp, "node": node}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class RefNode:
    def __init__(self, args):
        self.node_id = args.node_id or str(uuid.uuid4())
        self.host, self.port = args.host, args.port
        self.public_url = args.public_url
        self.bootstrap_peers = args.bootstrap
        self.fanout = args.fanout
        self.gossip_interval = args.gossip_interval
        self.health_interval = args.health_interval
        self.refuse_gossip = args.refuse_gossip
        self.max_peers = 50
        self.peers = {}           # peer_id -> PeerInfo
        self.seen = {}            # message_id -> time first seen
        self.received = []        # accepted envelopes, as received (test helper)
        self.merkle_root, self.state_version = "", 0
        self.start_time = time.time()
        self.metrics = dict(messages_sent=0, messages_received=0,
                            messages_dropped=0, gossip_rounds=0,
                            peers_discovered=0, health_checks=0)
        self.session = None
        self.pending = set()      # forwarding tasks in flight

    # --- peers -----------------------------------------------------------
    def add_peer(self, peer):
        if peer.peer_id == self.node_id or peer.peer_id in self.peers:
            return False
        if len(self.peers) >= self.max_peers:
            return False
        self.peers[peer.peer_id] = peer
        self.metrics["peers_discovered"] += 1
        log.info("peer added %s %s", peer.peer_id, peer.url)
        return True

    def update_state(self, root):
        if root != self.merkle_root:
            self.merkle_root = root
            self.state_version += 1

    # --- gossip ----------------------------------------------------------
    async def send(self, peer, envelope):
        try:
            async with self.session.post(peer.url.rstrip("/") + "/gossip",
                                         json=envelope, timeout=SEND_TIMEOUT) as r:
                await r.read()
            self.metrics["messages_sent"] += 1
        except Exception as e:
            peer.is_healthy = False
            log.warning("send to %s failed: %r", peer.url, e)

    async def spread(self, envelope):
        seen_by = set(envelope["seen_by"])
        candidates = [p for p in self.peers.values()
                      if p.is_healthy and p.peer_id not in seen_by]
        targets = random.sample(candidates, min(self.fanout, len(candidates)))
        await asyncio.gather(*(self.send(p, envelope) for p in targets))

    async def broadcast(self, mtype, payload):
        ts = time.time()
        mid = make_message_id(mtype, payload, ts, self.node_id)
        self.seen[mid] = ts
        await self.spread({"message_id": mid, "message_type": mtype,
                           "payload": payload, "timestamp": ts, "ttl": TTL_START,
                           "origin_peer": self.node_id, "seen_by": [self.node_id]})
        return mid

    def process(self, mtype, payload):
        if mtype == "peer_announce":
            try:
                self.add_peer(PeerInfo(peer_id=payload["node_id"], url=payload["url"],
                                       last_seen=time.time(),
                                       merkle_root=payload.get("merkle_root", ""),
                                       is_healthy=True, latency_ms=0.0))
            except (KeyError, TypeError, AttributeError) as e:
                log.error("bad peer_announce payload: %r", e)
        elif mtype == "state_update":
            try:
                if payload["state_version"] > self.state_version:
                    log.info("newer state seen: v%s root %s (no sync)",
                             payload["state_version"], payload["merkle_root"])
            except (KeyError, TypeError) as e:
                log.error("bad state_update payload: %r", e)
        else:
            log.info("message of unknown type %r", mtype)

    async def on_gossip(self, request):
        if self.refuse_gossip:  # a test's sick peer: alive, but gossip fails
            return web.json_response({"status": "error", "error": "overloaded"}, status=503)
        try:
            env = await request.json()
            mid, mtype = env["message_id"], env["message_type"]
            payload, ttl, seen_by = env["payload"], int(env["ttl"]), list(env["seen_by"])
        except Exception as e:
            self.metrics["messages_dropped"] += 1
            return web.json_response({"status": "error", "error": repr(e)}, status=400)
        if mid in self.seen:
            self.metrics["messages_dropped"] += 1
            return web.json_response({"status": "duplicate", "message_id": mid})
        self.seen[mid] = time.time()
        self.metrics["messages_received"] += 1
        self.received.append(env)
        self.process(mtype, payload)
        if ttl > 0:
            fwd = dict(env, ttl=ttl - 1, seen_by=seen_by + [self.node_id])
            task = asyncio.ensure_future(self.spread(fwd))
            self.pending.add(task)  # keep a reference until it is done
            task.add_done_callback(self.pending.discard)
        return web.json_response({"status": "accepted", "message_id": mid})

    # --- read-only routes --------------------------------------------------
    async def on_peers(self, request):
        return web.json_response([dataclasses.asdict(p) for p in self.peers.values()])

    async def on_health(self, request):
        return web.json_response({"status": "healthy", "node_id": self.node_id,
                                  "peer_count": len(self.peers),
                                  "uptime": time.time() - self.start_time,
                                  "metrics": self.metrics})

    async def on_state(self, request):
        return web.json_response({"node_id": self.node_id,
                                  "merkle_root": self.merkle_root,
                                  "state_version": self.state_version,
                                  "peer_count": len(self.peers),
                                  "timestamp": time.time()})

    # --- test helpers (not part of the reference node) --------------------
    async def on_test_broadcast(self, request):
        body = await request.json()
        mid = await self.broadcast(body["type"], body.get("payload", {}))
        return web.json_response({"message_id": mid})

    async def on_test_received(self, request):
        return web.json_response(self.received)

    # --- background work -------------------------------------------------
    async def bootstrap(self):
        for base in self.bootstrap_peers:
            base = base.rstrip("/")
            try:
                async with self.session.get(base + "/health", timeout=SEND_TIMEOUT) as r:
                    health = await r.json(content_type=None)
                self.add_peer(PeerInfo(peer_id=health["node_id"], url=base,
                                       last_seen=time.time(), merkle_root="",
                                       is_healthy=True, latency_ms=0.0))
                async with self.session.get(base + "/peers", timeout=SEND_TIMEOUT) as r:
                    entries = await r.json(content_type=None)
                listed = [PeerInfo(**e) for e in entries]  # the reference's strictness
            except Exception as e:
                log.error("bootstrap from %s failed: %r", base, e)
                continue
            for peer in listed:
                self.add_peer(peer)

    async def gossip_loop(self):
        while True:
            self.metrics["gossip_rounds"] += 1
            await self.broadcast("peer_announce", {
                "node_id": self.node_id, "url": self.public_url,
                "merkle_root": self.merkle_root, "timestamp": time.time()})
            await asyncio.sleep(self.gossip_interval)

    async def check_peer(self, peer):
        self.metrics["health_checks"] += 1
        t0 = time.time()
        try:
            async with self.session.get(peer.url.rstrip("/") + "/health",
                                        timeout=SEND_TIMEOUT) as r:
                await r.read()
                ok = r.status == 200
        except Exception:
            ok = False
        peer.is_healthy = ok
        if ok:
            peer.last_seen = time.time()
            peer.latency_ms = (peer.last_seen - t0) * 1000.0

    async def health_loop(self):
        while True:
            await asyncio.sleep(self.health_interval)
            await asyncio.gather(*(self.check_peer(p) for p in list(self.peers.values())))
            now = time.time()
            for pid, p in list(self.peers.items()):
                if now - p.last_seen > PEER_DEAD_AFTER:
                    del self.peers[pid]
                    log.info("peer removed (not seen for %.0f s) %s", PEER_DEAD_AFTER, pid)

    async def sweep_loop(self):
        while True:
            await asyncio.sleep(SEEN_SWEEP)
            cutoff = time.time() - SEEN_EXPIRY
            self.seen = {m: t for m, t in self.seen.items() if t >= cutoff}

    async def run(self):
        app = web.Application()
        app.add_routes([web.post("/gossip", self.on_gossip),
                        web.get("/peers", self.on_peers),
                        web.get("/health", self.on_health),
                        web.get("/state", self.on_state),
                        web.post("/_test/broadcast", self.on_test_broadcast),
                        web.get("/_test/received", self.on_test_received)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.public_url = self.public_url or f"http://{self.host}:{self.port}"
        await web.SockSite(runner, sock).start()
        self.session = ClientSession()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.bootstrap()
        print(f"READY {self.port} {self.node_id}", flush=True)
        log.info("node %s listening on %s", self.node_id, self.public_url)
        tasks = [asyncio.ensure_future(c()) for c in
                 (self.gossip_loop, self.health_loop, self.sweep_loop)]
        await stop.wait()
        log.info("stopping")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.session.close()
        await runner.cleanup()


def main():
    ap = argparse.ArgumentParser(description="reference gossip node (test fixture)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--node-id")
    ap.add_argument("--public-url")
    ap.add_argument("--bootstrap", nargs="+", action="extend", default=[])
    ap.add_argument("--fanout", type=int, default=3)
    ap.add_argument("--gossip-interval", type=float, default=5.0)
    ap.add_argument("--health-interval", type=float, default=30.0)
    ap.add_argument("--refuse-gossip", action="store_true",
                    help="answer every POST /gossip with 503 (tests only)")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s ref_node %(levelname)s %(message)s")
    asyncio.run(RefNode(args).run())


if __name__ == "__main__":
    main()
