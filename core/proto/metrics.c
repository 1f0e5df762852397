/*
 * metrics.c -- a node's counters by name: the one table that /health's
 * "metrics" and GET /metrics (prometheus.c) both read.
 */
#include <stddef.h>

#include "metrics.h"

#define F(name, help)                                                                              \
    {                                                                                              \
#name, offsetof(hs_metrics, name), help, "\"" #name "\":", sizeof("\"" #name "\":") - 1    \
    }

const hs_metric_field hs_metric_fields[] = {
    F(messages_sent, "envelopes delivered to a peer (2xx)"),
    F(messages_received, "new envelopes accepted"),
    F(messages_dropped,
      "dropped by a handler (drop or false), or our own broadcasts a handler refused"),
    F(messages_duplicate, "envelopes whose id was already seen"),
    F(messages_invalid, "envelopes refused as malformed"),
    F(messages_expired, "accepted with ttl 0: not forwarded"),
    F(send_errors, "outgoing envelopes that failed"),
    F(gossip_rounds, "announce rounds run"),
    F(peers_discovered, "peers added to the table"),
    F(peers_removed, "peers declared dead"),
    F(peers_recovered, "dead peers that came back"),
    F(health_checks, "health probes sent"),
    F(state_adopted, "newer state versions taken from peers"),
    F(http_requests, "requests served"),
    F(http_bad_request, "400 answers"),
    F(http_too_large, "413 answers"),
    F(http_not_found, "404 answers"),
    F(http_bad_method, "405 answers"),
    F(seen_evicted, "ids evicted by the cap before expiry"),
    F(batches_sent, "POSTs that carried more than one envelope"),
    F(ae_rounds, "digests we sent"),
    F(ae_catchups, "...of them, catch-ups to a peer back from dead"),
    F(ae_news, "...of them, to a peer whose /ping told of news we never had"),
    F(ae_answered, "digests we answered"),
    F(ae_pushed, "envelopes we pushed to a peer that lacked them"),
    F(ae_fetched, "envelopes we got by fetching what we lacked"),
    F(indirect_probes, "probes we asked other peers to make"),
    F(probes_for, "probes we made for a peer that asked (POST /probe)"),
    F(probes_for_refused, "POST /probe we declined: a node we do not know outside peer_allow, "
                          "or over probe_new_rate"),
    F(suspicions, "peers we suspected"),
    F(refutations, "suspicions of us we refuted"),
    F(confirmations, "other nodes' suspicions of a peer that counted towards shortening ours"),
    F(http_blocked, "requests refused from banned nodes"),
    F(peers_swapped, "live peers a full table let go for new ones"),
    F(peers_shed, "live peers let go because more than twice max_peers nodes hold them (their "
                  "probe answers' held)"),
    F(lazy_offered, "ids we offered a peer lazily"),
    F(lazy_answered, "lazy offers we answered"),
    F(lazy_pushed, "envelopes sent because a lazy offer was missing"),
    F(lazy_refetched, "ids fetched from a second offerer, or the only one again: an asked copy "
                      "did not come"),
    F(lazy_deferred,
      "ids offered and lacked that were not asked at once, as our asks lately brought second "
      "copies; fetched a lazy_delay later if still lacked"),
    F(pushes_late,
      "tree pushes that, while pushes were slow, waited in a peer's queue as long as an "
      "offer waits and went as offers"),
    F(pushes_stuck, "pushes a peer left unanswered while it answered an offer of their ids sent "
                    "later: its queue went on past them"),
    F(prunes, "eager links dropped: a push found a duplicate"),
    F(grafts, "lazy links made eager: a lazy offer was missing, or its peer took it as a shortcut"),
    F(shortcuts, "paths at least 3 hops shorter we moved to"),
    F(feeds, "peers we made eager links because nobody pushed new messages to them"),
    F(feed_asks, "asks to be fed we sent: nobody pushed new messages to us"),
    F(feed_refused, "asks to be fed we answered no: past our bound, or a full view (then the "
                    "asker is a candidate)"),
    F(feed_cycles, "feeding cycles broken: a feeder's chain came back to us and we are the "
                   "ring's least node (no way in), or an asker was on every chain above us "
                   "(refused)"),
    F(probe_sweeps, "sweeps: a direct probe went unanswered, and every live peer not heard from "
                    "lately was probed at once (many may have died)"),
    F(probes_late, "failed probes not held against the peer: they failed long past their timeout, "
                   "so our own loop was stalled"),
    F(tls_refused,
      "inbound connections without a client certificate that verifies (tls_client_auth)"),
    F(tls_verify_failed, "outbound requests whose server's certificate did not verify"),
    F(tls_plain_refused, "http:// peer URLs a TLS node refused to learn or to ask"),
    F(peer_allow_refused, "connections refused by peer_allow, both ways"),
    F(auth_failed, "requests refused by cluster auth (401, and 403 for a bad MAC; 503 when the "
                   "replay cache is full); replays are not counted"),
    F(auth_replayed, "requests refused as replays (403)"),
    F(claims_refused, "what a stranger said that we did not believe: a live peer's new URL, a "
                      "second id at one host:port, a host that is not its sender's, a suspicion of "
                      "us newer than our incarnation, a state tie"),
    F(learn_limited, "new peers a source was over its rate for"),
    F(peers_unverified, "strangers' peers dropped: their first probe failed"),
    F(candidates_taken, "peers a full table took once they answered"),
    F(messages_unsigned, "refused in signed mode: no signature (401)"),
    F(messages_forged, "refused: a signature that does not hold, a message_id that is not its "
                       "content's, or state from a node not among the writers (403)"),
    F(messages_rejected, "judged invalid by a handler (\"reject\"): not processed or forwarded, "
                         "the sender's score lowered"),
    F(messages_ignored,
      "not for us, says a handler (\"ignore\"): not processed or forwarded, no penalty"),
    F(peers_graylisted, "times a peer's score fell to score_graylist"),
    F(http_graylisted, "requests refused from graylisted peers"),
    F(http_wrong_cluster, "requests refused: another cluster_label"),
    F(peers_left, "peers forgotten because they left (or were forced out)"),
    F(discovered_addresses, "addresses the DNS bootstrap entries gave"),
    F(bytes_in, "bytes of request and answer bodies taken (headers not counted)"),
    F(bytes_out, "bytes of request and answer bodies sent (headers not counted)"),
    F(queries_sent, "queries we asked"),
    F(query_responses, "responses to them (acks and answers)"),
    F(query_duplicates, "...from a node that had responded already"),
    F(query_late, "...after the query had ended"),
    F(query_answers, "answers we sent to other nodes' queries"),
    F(query_answers_refused, "answers over query_answer_max, ours or theirs"),
    F(queries_refused, "queries we did not respond to: the asker not vouched for at its reply URL, "
                       "or over query_answer_rate"),
    F(fd_exhausted_accepts,
      "episodes of the server out of file descriptors: it paused accepting (10 ms doubling to 1 s) "
      "and shut idle connections until accepts worked again"),
    F(fd_exhausted_connects, "outbound connections that could not be opened for want of file "
                             "descriptors: their requests failed, held against no peer"),
};

const size_t hs_metric_field_count = sizeof hs_metric_fields / sizeof hs_metric_fields[0];

/* A counter added to hs_metrics and not here would be missing from
 * /health and /metrics: the build says so. */
_Static_assert(sizeof hs_metric_fields / sizeof hs_metric_fields[0] ==
                   sizeof(hs_metrics) / sizeof(uint64_t),
               "every counter of hs_metrics has its line in hs_metric_fields");

uint64_t hs_metric_value(const hs_metrics *m, const hs_metric_field *f)
{
    return *(const uint64_t *)((const char *)m + f->offset);
}

json_t *hs_node_metrics_json(hs_node *n)
{
    hs_metrics m;
    json_t *j = json_object();

    if (!j)
        return NULL;
    hs_node_metrics(n, &m);
    for (size_t i = 0; i < hs_metric_field_count; i++)
        if (json_object_set_new(
                j, hs_metric_fields[i].name,
                json_integer((json_int_t)hs_metric_value(&m, &hs_metric_fields[i]))) != 0) {
            json_decref(j);
            return NULL;
        }
    json_object_set_new(j, "connections_opened", json_integer((json_int_t)hs_node_connects(n)));
    json_object_set_new(j, "connections_drained", json_integer((json_int_t)hs_node_drained(n)));
    /* Copies of each new message that reached us, on average: 1 is perfect. */
    json_object_set_new(j, "copies_per_message", json_real(hs_metric_copies(&m)));
    return j;
}

double hs_metric_copies(const hs_metrics *m)
{
    return m->messages_received ? (double)(m->messages_received + m->messages_duplicate) /
                                      (double)m->messages_received
                                : 0.0;
}
