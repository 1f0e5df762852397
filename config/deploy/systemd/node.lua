-- /etc/hearsay/node.lua for config/deploy/systemd/hearsay.service: the node's
-- own files go where the service may write them.
return {
  host = "0.0.0.0",
  port = 8080,
  -- public_url = "http://node-1.example.net:8080",  -- what peers reach
  security = "cluster",          -- a key from `hearsay keygen`, the same on every node:
  cluster_keys = { "REPLACE-WITH-hearsay-keygen-OUTPUT=" },
  bootstrap = {},                -- { "http://node-1.example.net:8080" }
  log_level = "info",
  log_format = "json",           -- one JSON object a line, for journald's shippers
  node_id_file = "/var/lib/hearsay/node_id",
  node_key_file = "/var/lib/hearsay/node_key",
  keyring_file = "/var/lib/hearsay/keyring",
  console_socket = "/run/hearsay/console.sock",
  plugins = { "random_policy", "latency_policy", "audit" },
}
