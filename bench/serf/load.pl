#!/usr/bin/perl
# load.pl -- sends Serf user events open-loop: at RATE per second on a fixed
# schedule for SECONDS, rotating over the origin agents, through the agents'
# RPC (msgpack over TCP, the protocol `serf event` speaks), one connection
# per origin, requests pipelined: a send never waits for an earlier answer.
# (`serf event` is a Go process per event: see serf.sh load.)
#
#   perl load.pl --rpc-base PORT --agents 1,11,21 --rate R --seconds S
#                --payload BYTES --prefix NAME --out FILE [--ack-wait S]
#
# Event i (0-based) is due at T0 + i/RATE and goes to agent
# AGENTS[i % K] (RPC port PORT + agent); its name is NAME_i, its payload
# BYTES random base64 characters (made before the clock starts), unique.
# Sending stops at T0 + SECONDS even if events are still due: a sender that
# fell behind sends fewer, and says so.
#
# FILE: one line per event sent, "I NAME AGENT T_SEND T_ACK ERROR":
# T_SEND is the time just before the request was written to the socket
# (the RPC's start), T_ACK when the agent's answer was read (its return;
# 0 if none came within --ack-wait s after the last send), ERROR "-" or the
# agent's error text (spaces as _). FILE.meta: "key value" lines (scheduled,
# sent, acked, errors, t0, t_first, t_last, max_late_ms, late_over_100ms,
# cpu_s: this process's user+system CPU over the send window).
# Clock: Time::HiRes (gettimeofday), the one stamp.pl stamps the agents'
# log lines with. Every wait is bounded.
use strict;
use warnings;
use Time::HiRes qw(time);
use IO::Socket::INET;
use IO::Select;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use MIME::Base64 qw(encode_base64);
use Getopt::Long;

my ($rpc_base, $agents, $rate, $seconds, $bytes, $prefix, $out) = (0, '1', 1, 5, 400, 'ld', '');
my $ack_wait = 5;
GetOptions('rpc-base=i' => \$rpc_base, 'agents=s' => \$agents, 'rate=f' => \$rate,
  'seconds=f' => \$seconds, 'payload=i' => \$bytes, 'prefix=s' => \$prefix, 'out=s' => \$out,
  'ack-wait=f' => \$ack_wait) or die "load.pl: bad options\n";
die "load.pl: --rpc-base, --out and a positive --rate are needed\n" unless $rpc_base && $out && $rate > 0;
my @agents = split /,/, $agents;

# ---- msgpack: the little the RPC needs -------------------------------------
sub mp_str {
  my $s = shift; my $n = length $s;
  return chr(0xa0 | $n) . $s if $n < 32;
  return "\xd9" . chr($n) . $s if $n < 256;
  return "\xda" . pack('n', $n) . $s if $n < 65536;
  return "\xdb" . pack('N', $n) . $s;
}
sub mp_bin {
  my $s = shift; my $n = length $s;
  return "\xc4" . chr($n) . $s if $n < 256;
  return "\xc5" . pack('n', $n) . $s if $n < 65536;
  return "\xc6" . pack('N', $n) . $s;
}
sub mp_uint {
  my $v = shift;
  return chr($v) if $v < 128;
  return "\xcc" . chr($v) if $v < 256;
  return "\xcd" . pack('n', $v) if $v < 65536;
  return "\xce" . pack('N', $v);
}
# mp_map(key => encoded value, ...): a map of at most 15 entries.
sub mp_map {
  my @kv = @_;
  my $s = chr(0x80 | (@kv / 2));
  while (@kv) { my ($k, $v) = splice(@kv, 0, 2); $s .= mp_str($k) . $v; }
  return $s;
}
# mp_decode(\$buf, $pos): (value, new pos), or () if $buf ends too soon.
sub mp_decode {
  my ($b, $p) = @_;
  return () if $p >= length $$b;
  my $c = ord substr($$b, $p, 1);
  my $need = sub { $p + 1 + $_[0] <= length $$b };
  my $raw = sub {    # $len bytes after a header of $h bytes
    my ($h, $len) = @_;
    return () unless $p + 1 + $h + $len <= length $$b;
    return (substr($$b, $p + 1 + $h, $len), $p + 1 + $h + $len);
  };
  my $coll = sub {   # $n items (x2 for a map) after a header of $h bytes
    my ($h, $n, $map) = @_;
    my $q = $p + 1 + $h;
    return () if $q > length $$b;
    my @items;
    for (1 .. ($map ? 2 * $n : $n)) {
      my @r = mp_decode($b, $q);
      return () unless @r;
      push @items, $r[0]; $q = $r[1];
    }
    return ($map ? {@items} : \@items, $q);
  };
  return ($c, $p + 1) if $c < 0x80;
  return $coll->(0, $c & 0x0f, 1) if $c <= 0x8f;
  return $coll->(0, $c & 0x0f, 0) if $c <= 0x9f;
  return $raw->(0, $c & 0x1f) if $c <= 0xbf;
  return (undef, $p + 1) if $c == 0xc0;
  return (0, $p + 1) if $c == 0xc2;
  return (1, $p + 1) if $c == 0xc3;
  return ($c - 256, $p + 1) if $c >= 0xe0;
  my %len1 = (0xc4 => 1, 0xd9 => 1);
  my %len2 = (0xc5 => 2, 0xda => 2);
  my %len4 = (0xc6 => 4, 0xdb => 4);
  if ($len1{$c} || $len2{$c} || $len4{$c}) {
    my $h = $len1{$c} || $len2{$c} || $len4{$c};
    return () unless $need->($h);
    my $len = $h == 1 ? ord(substr($$b, $p + 1, 1)) : unpack($h == 2 ? 'n' : 'N', substr($$b, $p + 1, $h));
    return $raw->($h, $len);
  }
  my %uint = (0xcc => ['C', 1], 0xcd => ['n', 2], 0xce => ['N', 4], 0xcf => ['Q>', 8],
              0xd0 => ['c', 1], 0xd1 => ['s>', 2], 0xd2 => ['l>', 4], 0xd3 => ['q>', 8],
              0xca => ['f>', 4], 0xcb => ['d>', 8]);
  if (my $u = $uint{$c}) {
    return () unless $need->($u->[1]);
    return (unpack($u->[0], substr($$b, $p + 1, $u->[1])), $p + 1 + $u->[1]);
  }
  if ($c == 0xdc || $c == 0xde) {
    return () unless $need->(2);
    return $coll->(2, unpack('n', substr($$b, $p + 1, 2)), $c == 0xde);
  }
  if ($c == 0xdd || $c == 0xdf) {
    return () unless $need->(4);
    return $coll->(4, unpack('N', substr($$b, $p + 1, 4)), $c == 0xdf);
  }
  die sprintf("load.pl: msgpack type 0x%02x not handled\n", $c);
}

# ---- connections: one per origin agent, handshake done blocking ------------
my (@sock, @inbuf, @outbuf);
for my $k (0 .. $#agents) {
  my $port = $rpc_base + $agents[$k];
  my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
    or die "load.pl: cannot connect to agent $agents[$k]'s RPC (127.0.0.1:$port): $!\n";
  setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
  $s->blocking(1);
  print $s mp_map(Command => mp_str('handshake'), Seq => mp_uint(0)) . mp_map(Version => mp_uint(1));
  $s->flush;
  my ($buf, $deadline) = ('', time + 5);
  my $sel = IO::Select->new($s);
  my @r;
  while (!(@r = mp_decode(\$buf, 0))) {
    my $left = $deadline - time;
    die "load.pl: no handshake answer from agent $agents[$k]\n" if $left <= 0 || !$sel->can_read($left);
    sysread($s, $buf, 4096, length $buf) or die "load.pl: agent $agents[$k] closed the RPC connection\n";
  }
  die "load.pl: handshake with agent $agents[$k]: $r[0]{Error}\n" if $r[0]{Error};
  $s->blocking(0);
  push @sock, $s; push @inbuf, substr($buf, $r[1]); push @outbuf, '';
}
my %sock_index = map { (fileno($sock[$_]) => $_) } 0 .. $#sock;

# ---- the events, made before the clock starts ------------------------------
my $total = int($rate * $seconds + 1e-9);
open(my $rnd, '<:raw', '/dev/urandom') or die "load.pl: /dev/urandom: $!\n";
my (@name, @req);
for my $i (0 .. $total - 1) {
  read($rnd, my $raw, int($bytes * 3 / 4) + 3) or die "load.pl: /dev/urandom: $!\n";
  my $payload = substr(encode_base64($raw, ''), 0, $bytes);
  $name[$i] = "${prefix}_$i";
  # Seq i+1: unique over all connections, so an answer names its event.
  $req[$i] = mp_map(Command => mp_str('event'), Seq => mp_uint($i + 1))
    . mp_map(Name => mp_str($name[$i]), Payload => mp_bin($payload), Coalesce => "\xc2");
}
close $rnd;

# ---- the schedule ------------------------------------------------------------
my (@t_send, @t_ack, @err);
my ($acked, $errors, $max_late, $late100) = (0, 0, 0, 0);
my $sel = IO::Select->new(@sock);

sub pump {    # reads what the agents answered and writes what is pending, waiting up to $wait s
  my $wait = shift;
  my $wsel = IO::Select->new(map { $sock[$_] } grep { length $outbuf[$_] } 0 .. $#sock);
  my ($r, $w) = IO::Select->select($sel, $wsel->count ? $wsel : undef, undef, $wait > 0 ? $wait : 0);
  for my $s (@{ $w || [] }) {
    my $k = $sock_index{fileno $s};
    my $n = syswrite($s, $outbuf[$k]);
    substr($outbuf[$k], 0, $n) = '' if $n;
  }
  for my $s (@{ $r || [] }) {
    my $k = $sock_index{fileno $s};
    my $n = sysread($s, $inbuf[$k], 65536, length $inbuf[$k]);
    die "load.pl: agent $agents[$k] closed the RPC connection\n" if defined $n && $n == 0;
    my $now = time;
    my $pos = 0;
    while (my @r = mp_decode(\$inbuf[$k], $pos)) {
      my ($h, $np) = @r;
      $pos = $np;
      my $i = ($h->{Seq} // 0) - 1;
      next if $i < 0 || $i >= $total || $t_ack[$i];
      $t_ack[$i] = $now; $acked++;
      if (defined $h->{Error} && length $h->{Error}) { $err[$i] = $h->{Error}; $errors++; }
    }
    substr($inbuf[$k], 0, $pos) = '';
  }
}

sub send_event {
  my $i = shift;
  my $k = $i % @sock;
  my $t = time;
  $t_send[$i] = $t;
  $outbuf[$k] .= $req[$i];
  my $n = syswrite($sock[$k], $outbuf[$k]);
  substr($outbuf[$k], 0, $n) = '' if $n;
  return $t;
}

my @cpu0 = times;
my $t0 = time + 0.05;
my $t_end = $t0 + $seconds;
my $next = 0;
while ($next < $total) {
  my $now = time;
  last if $now >= $t_end;
  while ($next < $total && $t0 + $next / $rate <= $now && $now < $t_end) {
    my $late = send_event($next) - ($t0 + $next / $rate);
    $max_late = $late if $late > $max_late;
    $late100++ if $late > 0.1;
    $next++;
    $now = time;
  }
  last if $next >= $total;
  pump($t0 + $next / $rate - time);
}
my @cpu1 = times;
my $sent = $next;
# The answers still owed: up to --ack-wait s.
my $deadline = time + $ack_wait;
while ($acked < $sent && time < $deadline) { pump(0.05) }

open(my $fh, '>', $out) or die "load.pl: $out: $!\n";
for my $i (0 .. $sent - 1) {
  my $e = $err[$i] // '-';
  $e =~ s/\s+/_/g;
  printf $fh "%d %s %d %.6f %.6f %s\n", $i, $name[$i], $agents[$i % @agents], $t_send[$i],
    $t_ack[$i] // 0, $e;
}
close $fh;
open(my $mf, '>', "$out.meta") or die "load.pl: $out.meta: $!\n";
printf $mf "scheduled %d\nsent %d\nacked %d\nerrors %d\nt0 %.6f\nt_first %.6f\nt_last %.6f\n"
  . "max_late_ms %.3f\nlate_over_100ms %d\ncpu_s %.4f\n", $total, $sent, $acked, $errors, $t0,
  $sent ? $t_send[0] : 0, $sent ? $t_send[$sent - 1] : 0, $max_late * 1000, $late100,
  ($cpu1[0] + $cpu1[1]) - ($cpu0[0] + $cpu0[1]);
close $mf;
close $_ for @sock;
