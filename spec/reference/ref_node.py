"""Reference node: a test fixture, not part of hearsay.

A re-creation of the asyncio Python gossip node that hearsay must
interoperate with, written from /work/shared/REFERENCE.md (the facts a
compatible peer needs). It is meant to be exactly as strict, as lenient and
as slow as the reference, never friendlier:

- POST /gossip requires message_id, message_type, payload, timestamp and ttl
  and takes any value in them (any string as a type, any message_id);
  origin_peer and seen_by are optional (default "" and []). Extra keys are
  ignored. A bad envelope is answered 200 {"status": "error", "error": ...},
  never with a 4xx.
- On receipt it marks the id seen, adds itself to seen_by, processes the
  type, and forwards (ttl - 1) to `fanout` random healthy peers not in
  seen_by BEFORE it answers. What it forwards is re-serialised from the
  seven fields only: any other field (hearsay's hops, a signature) is lost.
- Its peer table sits behind one lock that the health loop holds while it
  checks every peer in turn (GET /health, 10 s timeout each); choosing
  forward targets waits for that lock, so a slow peer of the reference
  delays its answers to everyone.
- Bootstrap: GET /health of each bootstrap URL (takes node_id), then GET
  /peers, turned into records one entry at a time as PeerInfo(**entry):
  missing keys take defaults, an unexpected key raises, which ends that
  list; the entries before it were added, the rest are lost.

Run with the system Python (python3-aiohttp):
    /usr/bin/python3 ref_node.py --port 0 [--host 127.0.0.1] [--node-id ID]
        [--bootstrap URL ...] [--fanout 3] [--gossip-interval 5]
        [--health-interval 30] [--health-timeout 10] [--send-timeout 5]
        [--public-url URL] [--refuse-gossip]
Once bound and bootstrapped it prints one line "READY <port> <node_id>" on
stdout; everything else goes to stderr (every request it serves is logged).

Test-only endpoints (not in the reference, not logged as requests):
  POST /_test/broadcast {"type", "payload", "omit": [field, ...]}: broadcasts
      a new message (without the fields named in omit) -> {"message_id"}
  GET /_test/received: the envelopes it accepted, in order, each as
      {"envelope": <as received>, "from": <X-Hearsay-From or null>,
       "id_matches": <message_id is the reference formula of the envelope>}
  GET /_test/requests: every request it served: {"method", "path", "query",
      "from": <X-Hearsay-From or null>, "spec": <an X-Spec header: the spec's
      own request>, "agent": <User-Agent>, "body": "object"|"array"|"none"|"other",
      "status"}
  GET /_test/status: {"bootstrap": [{"url", "node_id", "listed", "added",
      "error"}], "newest_state": {"merkle_root", "state_version", "origin"}
      or null, "errors": [the error answers it gave], "peers": [ids]}
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
from typing import Any, List

from aiohttp import ClientSession, ClientTimeout, web

log = logging.getLogger("ref_node")

TTL_START = 10
SEEN_EXPIRY = 300.0      # seconds a message id stays in the seen cache
SEEN_SWEEP = 60.0        # how often the seen cache is swept
PEER_DEAD_AFTER = 300.0  # a peer not seen for this long is removed


@dataclasses.dataclass
class PeerInfo:
    # The six keys of a /peers entry. PeerInfo(**entry) is the strictness:
    # a key it does not know raises; a missing one takes its default.
    peer_id: str
    url: str
    last_seen: float = dataclasses.field(default_factory=time.time)
    merkle_root: str = ""
    is_healthy: bool = True
    latency_ms: float = 0.0


@dataclasses.dataclass
class GossipMessage:
    message_id: str
    message_type: str
    payload: Any
    timestamp: float
    ttl: int
    origin_peer: str = ""
    seen_by: List[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_dict(cls, data):
        # The required fields by key (KeyError names the missing one); the
        # optional two by .get; anything else in data is ignored.
        return cls(message_id=data["message_id"], message_type=data["message_type"],
                   payload=data["payload"], timestamp=data["timestamp"], ttl=data["ttl"],
                   origin_peer=data.get("origin_peer", ""),
                   seen_by=list(data.get("seen_by", [])))


def make_message_id(mtype, payload, timestamp, node):
    blob = json.dumps({"type": mtype, "payload": payload,
                       "timestamp": timestamp, "node": node}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def body_kind(raw):
    if not raw:
        return "none"
    try:
        v = json.loads(raw)
    except ValueError:
        return "other"
    return "object" if isinstance(v, dict) else "array" if isinstance(v, list) else "other"


class RefNode:
    def __init__(self, args):
        self.node_id = args.node_id or str(uuid.uuid4())
        self.host, self.port = args.host, args.port
        self.public_url = args.public_url
        self.bootstrap_peers = args.bootstrap
        self.fanout = args.fanout
        self.gossip_interval = args.gossip_interval
        self.health_interval = args.health_interval
        self.health_timeout = ClientTimeout(total=args.health_timeout)
        self.send_timeout = ClientTimeout(total=args.send_timeout)
        self.refuse_gossip = args.refuse_gossip
        self.max_peers = 50
        self.peers = {}           # peer_id -> PeerInfo
        self.lock = asyncio.Lock()  # the peer table's; health checks hold it
        self.seen = {}            # message_id -> time first seen
        self.merkle_root, self.state_version = "", 0
        self.start_time = time.time()
        self.metrics = dict(messages_sent=0, messages_received=0,
                            messages_dropped=0, gossip_rounds=0,
                            peers_discovered=0, health_checks=0)
        self.session = None
        # Observations for the specs (the /_test routes).
        self.received = []
        self.requests = []
        self.bootstrap_results = []
        self.newest_state = None
        self.errors = []

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
    async def send(self, peer, msg):
        body = msg if isinstance(msg, dict) else dataclasses.asdict(msg)  # the seven fields
        try:
            async with self.session.post(peer.url.rstrip("/") + "/gossip", json=body,
                                         timeout=self.send_timeout) as r:
                await r.read()
            self.metrics["messages_sent"] += 1
        except Exception as e:
            peer.is_healthy = False
            log.warning("send to %s failed: %r", peer.url, e)

    async def propagate(self, msg):
        async with self.lock:
            candidates = [p for p in self.peers.values()
                          if p.is_healthy and p.peer_id not in msg.seen_by]
            targets = random.sample(candidates, min(self.fanout, len(candidates)))
        await asyncio.gather(*(self.send(p, msg) for p in targets))

    async def broadcast(self, mtype, payload, omit=()):
        ts = time.time()
        mid = make_message_id(mtype, payload, ts, self.node_id)
        self.seen[mid] = ts
        msg = GossipMessage(mid, mtype, payload, ts, TTL_START, self.node_id, [self.node_id])
        if omit:  # a test's envelope without some optional fields
            body = {k: v for k, v in dataclasses.asdict(msg).items() if k not in omit}
            async with self.lock:
                targets = [p for p in self.peers.values() if p.is_healthy]
                targets = random.sample(targets, min(self.fanout, len(targets)))
            await asyncio.gather(*(self.send(p, body) for p in targets))
            return mid
        await self.propagate(msg)
        return mid

    def process(self, msg):
        payload = msg.payload
        if msg.message_type == "peer_announce":
            try:
                self.add_peer(PeerInfo(peer_id=payload["node_id"], url=payload["url"],
                                       merkle_root=payload.get("merkle_root", "")))
            except (KeyError, TypeError, AttributeError) as e:
                log.error("bad peer_announce payload: %r", e)
        elif msg.message_type == "state_update":
            try:
                if payload["state_version"] > self.state_version:
                    log.info("newer state seen: v%s root %s (no sync)",
                             payload["state_version"], payload["merkle_root"])
                    if (self.newest_state is None
                            or payload["state_version"] > self.newest_state["state_version"]):
                        self.newest_state = {"merkle_root": payload["merkle_root"],
                                             "state_version": payload["state_version"],
                                             "origin": msg.origin_peer}
            except (KeyError, TypeError) as e:
                log.error("bad state_update payload: %r", e)
        else:
            log.info("message of type %r", msg.message_type)

    async def handle(self, msg, note=None):
        if msg.message_id in self.seen:
            self.metrics["messages_dropped"] += 1
            return {"status": "duplicate"}
        self.seen[msg.message_id] = time.time()
        self.metrics["messages_received"] += 1
        if note:
            note()
        msg.seen_by.append(self.node_id)
        self.process(msg)
        if msg.ttl > 0:
            msg.ttl -= 1
            await self.propagate(msg)  # before the answer
        return {"status": "accepted"}

    async def on_gossip(self, request):
        if self.refuse_gossip:  # a test's sick peer: alive, but gossip fails
            return web.json_response({"status": "error", "error": "overloaded"}, status=503)
        try:
            data = await request.json()
            msg = GossipMessage.from_dict(data)
            record = {"envelope": data, "from": request.headers.get("X-Hearsay-From"),
                      "id_matches": msg.message_id == make_message_id(
                          msg.message_type, msg.payload, msg.timestamp, msg.origin_peer)}
            result = await self.handle(msg, lambda: self.received.append(record))
            return web.json_response(result)
        except Exception as e:
            self.errors.append(repr(e))
            log.error("gossip error: %r", e)
            return web.json_response({"status": "error", "error": str(e)})

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
    @web.middleware
    async def log_requests(self, request, handler):
        if request.path.startswith("/_test/"):
            return await handler(request)
        raw = await request.read()
        entry = {"method": request.method, "path": request.path,
                 "query": request.query_string, "from": request.headers.get("X-Hearsay-From"),
                 "spec": "X-Spec" in request.headers, "agent": request.headers.get("User-Agent"),
                 "body": body_kind(raw), "status": None}
        self.requests.append(entry)
        log.info("request %s %s%s from %s (%s body)", request.method, request.path,
                 "?" + request.query_string if request.query_string else "",
                 entry["from"] or "-", entry["body"])
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            entry["status"] = e.status
            raise
        entry["status"] = resp.status
        return resp

    async def on_test_broadcast(self, request):
        body = await request.json()
        mid = await self.broadcast(body["type"], body.get("payload", {}), body.get("omit", ()))
        return web.json_response({"message_id": mid})

    async def on_test_received(self, request):
        return web.json_response(self.received)

    async def on_test_requests(self, request):
        return web.json_response(self.requests)

    async def on_test_status(self, request):
        return web.json_response({"bootstrap": self.bootstrap_results,
                                  "newest_state": self.newest_state, "errors": self.errors,
                                  "peers": list(self.peers)})

    # --- background work -------------------------------------------------
    async def bootstrap(self):
        for base in self.bootstrap_peers:
            base = base.rstrip("/")
            result = {"url": base, "node_id": None, "listed": 0, "added": [], "error": None}
            self.bootstrap_results.append(result)
            try:
                async with self.session.get(base + "/health", timeout=self.send_timeout) as r:
                    health = await r.json(content_type=None)
                result["node_id"] = health["node_id"]
                self.add_peer(PeerInfo(peer_id=health["node_id"], url=base))
                async with self.session.get(base + "/peers", timeout=self.send_timeout) as r:
                    entries = await r.json(content_type=None)
                result["listed"] = len(entries)
                for e in entries:
                    peer = PeerInfo(**e)  # an unexpected key ends the list here
                    if self.add_peer(peer):
                        result["added"].append(peer.peer_id)
            except Exception as e:
                result["error"] = repr(e)
                log.error("bootstrap from %s failed: %r", base, e)

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
                                        timeout=self.health_timeout) as r:
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
            async with self.lock:  # held through every check, one after another
                for p in list(self.peers.values()):
                    await self.check_peer(p)
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
        app = web.Application(middlewares=[self.log_requests])
        app.add_routes([web.post("/gossip", self.on_gossip),
                        web.get("/peers", self.on_peers),
                        web.get("/health", self.on_health),
                        web.get("/state", self.on_state),
                        web.post("/_test/broadcast", self.on_test_broadcast),
                        web.get("/_test/received", self.on_test_received),
                        web.get("/_test/requests", self.on_test_requests),
                        web.get("/_test/status", self.on_test_status)])
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
    ap.add_argument("--health-timeout", type=float, default=10.0)
    ap.add_argument("--send-timeout", type=float, default=5.0)
    ap.add_argument("--refuse-gossip", action="store_true",
                    help="answer every POST /gossip with 503 (tests only)")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s ref_node %(levelname)s %(message)s")
    asyncio.run(RefNode(args).run())


if __name__ == "__main__":
    main()
