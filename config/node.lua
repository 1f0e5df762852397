-- The default hearsay node configuration. `hearsay run --config config`
-- runs a node from it; `hearsay demo` builds its cluster from it.
-- Every setting is optional; the values below are the defaults.
return {
  host = "127.0.0.1",         -- listen address (beyond loopback only with a
                              -- security setting: see below)
  port = 8080,                -- 0 picks a free port
  -- public_url = "http://203.0.113.7:8080", -- what peers should call us at
  node_id_file = "node_id",   -- kept here, created on first run: the public key
  node_key_file = "node_key", -- the private key, made on first run (mode 0600)
  bootstrap = {},             -- base URLs of nodes to join through

  fanout = 3,                 -- peers each new message is pushed to (tree: eager links)
  tree = true,                -- push along a self-pruning tree (Plumtree): ~1 copy per node
  lazy_fanout = 6,            -- more peers offered only its id (lazy push)...
  lazy_delay = 0.25,          -- ...after this many s, so pushed copies come first
  ttl = 32,                   -- hops a message we originate may travel
  max_ttl = 64,               -- larger incoming ttl is refused
  announce_ttl = 0,           -- hops our periodic peer_announce travels past
                              -- the fanout peers it goes to (joining: >= 3)
  max_peers = 50,
  min_peers = 1,              -- fewer live peers than this: bootstrap again

  gossip_interval = 30,       -- s between peer_announce rounds
  health_interval = 60,       -- s: each live peer is probed at least this often,
  probe_interval = 1,         -- one per probe, at most one probe per this many s
                              -- unless health_interval / live peers is shorter
  peer_exchange_interval = 60, -- s between GET /peers of a random peer
  join_exchanges = 5,           -- ...but first 5 at 1, 2, 4, 8, 16 s after joining
  rebootstrap_interval = 10,  -- s: the longest wait between re-bootstraps when alone (2, 4, 8, 10 s)
  request_timeout = 5,        -- s before an outgoing request fails
  dead_after = 3,             -- failed probes (direct and indirect) before a peer is suspect
  dead_timeout = 300,         -- s without a sign of life before it is dead
  retry_min = 1,              -- s before the first retry of a dead peer...
  retry_max = 30,             -- ...doubling up to this
  forget_after = 3600,        -- s after which a dead peer is forgotten
  probe_timeout = 1,          -- s a health probe may take
  indirect_probes = 3,        -- peers asked to probe one we cannot reach
  suspicion_timeout = 5,      -- s a suspected peer has to refute before it is dead...
  suspicion_min = 1,          -- ...down to this as other nodes bear the suspicion out:
  suspicion_confirmations = 3, -- this many (Lifeguard's k; 0: always the full time)
  max_probes_in_flight = 64,  -- health probes under way at once; new peers'
                              -- first probes beyond it wait their turn

  seen_ttl = 300,             -- s a message id is remembered
  seen_cap = 100000,          -- ids remembered at most (oldest evicted)
  max_body = 1048576,         -- bytes of a request body (413 above)
  max_seen_by = 256,          -- entries in an incoming seen_by
  max_batch = 1000,           -- envelopes in one batch body
  max_connections = 1024,     -- concurrent inbound connections
  peer_connections = 1,       -- outbound connections per peer (kept alive)
  curl_for_http = false,      -- http:// through libcurl too (https:// always is);
                              -- false: hearsay's own HTTP/1.1 client
  batch_window = 0,           -- s envelopes for one peer wait to share a POST
                              -- (0: until the loop's next turn)
  batch_interval = 0,         -- s at least between two POSTs to one peer: what
                              -- comes meanwhile waits and goes with the next
  ae_interval = 2,            -- s between anti-entropy rounds (0: off)...
  ae_max_interval = 30,       -- ...backing off to this while nothing needs repair
  ae_window = 30,             -- s of recent messages a digest lists
  max_digest = 1024,          -- ids in one digest or fetch
  retain_ttl = 120,           -- s envelopes are kept to repair peers (and to catch up after a partition)
  retain_bytes = 16777216,    -- bytes of envelopes kept

  -- Security (README, Security). "protected": open, loopback only;
  -- "open": anyone who reaches the port; "cluster": every request between
  -- members carries a MAC of a cluster key; "signed": and messages signed.
  -- security = "cluster",
  -- cluster_keys = { "<hearsay keygen>" }, -- only seeds the keyring file
  --                          -- when it does not exist yet: from then on the
  --                          -- file is the keyring (`hearsay keys` changes it)
  -- keyring_file = "keyring", -- in this directory; mode 0600, rewritten
  --                          -- atomically on every change
  -- auth_window = 30,        -- s a request's timestamp may be off (clocks!)
  -- writers = { "<a node's /health public_key>" }, -- signed: who may change
  --                          -- the state (unset: any member)
  -- Strangers (every mode): what one source address may make us do.
  learn_rate = 5,             -- new peers learned per s from one address...
  learn_burst = 64,           -- ...and at once
  probe_new_rate = 20,        -- first probes of peers a stranger told us of, per s
  -- trust_forwarded = { "10.0.0.1" }, -- proxies whose X-Forwarded-For we believe
  -- TLS (PEM files; a relative path is relative to this directory):
  -- tls_cert = "tls/node.pem", -- serve HTTPS with this certificate...
  -- tls_key = "tls/node.key",  -- ...and its key; the default public_url is
  --                          -- then https://, and peers must be https:// too
  -- tls_ca = "tls/ca.pem",   -- the CAs peers' certificates must chain to
  --                          -- (unset: the system's); never unverified
  -- tls_client_auth = true,  -- mutual TLS: refuse a client without a
  --                          -- certificate signed by tls_ca (403)
  -- peer_allow = { "10.0.0.0/8", "fd00::/8" }, -- connect to and accept
  --                          -- from these address ranges only (unset: any)

  log_level = "info",         -- error, warn, info or debug
  -- tags = { region = "eu-west" }, -- advertised on /health; policies read them

  -- Plugins: Lua files loaded into the node's own Lua state, found in
  -- ./plugins, then plugin_path (relative to this directory), then the
  -- plugins that ship with hearsay. An entry is a name or { name, settings }.
  plugin_path = { "../plugins" },
  plugins = {
    "random_policy",          -- policy "random"
    "latency_policy",         -- policy "latency"
    { "region_policy", remote = 1 }, -- policy "region" (reads the region tag)
    { "chat", max_length = 2000 },   -- handler for "chat" messages
    "audit",                  -- logs state changes and peers up/down
  },
  -- policy = "latency",      -- which policy picks forward targets
                              -- (unset: the core's own tree, with lazy offers)
  plugin_memory = 67108864,   -- bytes the node's Lua state may use
  plugin_instructions = 10000000, -- VM instructions per plugin call (C work counts)
  plugin_timeout = 0.05,      -- s of its own time a plugin call may take: over
                              -- it, the plugin is quarantined until a reload
  plugin_max_share = 0.5,     -- ...or when its calls take more than this share
  plugin_share_window = 2,    -- of any window of this many s
  -- console_socket = "console.sock", -- default: console.sock in this directory
}
