#!/usr/bin/perl
# stamp.pl -- reads a Serf agent's output (its log) and stamps every line
# with the time it was read, so serf.sh can time what the agent itself
# did, not what its event handler did after Serf's coalescing and a
# process start (the agent's own log times have whole seconds only).
#
#   serf agent ... 2>&1 | perl bench/serf/stamp.pl LOG EVENTS
#
# LOG gets every line as "EPOCH LINE"; EVENTS the few lines the benchmarks
# read, one per line, "EPOCH WHAT NAME":
#   send NAME     agent: Requesting user event send (the origin, agent 1)
#   recv NAME     serf: messageUserEventType (a copy received; first per name only)
#   failed NAME   serf: EventMemberFailed (memberlist declared NAME dead;
#                 before the agent's coalescing and its handler)
#   suspect NAME  memberlist: Suspect NAME has failed (our probe of it failed)
#   dead NAME     memberlist: Marking NAME as failed (our suspicion timer ran out)
#   old NAME      serf: received old event NAME: the agent's FIRST copy of user
#                 event NAME was older than its event buffer (512 Lamport times)
#                 and was dropped, so the "recv NAME" just before it is no
#                 delivery (written when the warning follows that first copy's
#                 line within 50 ms, as the agent logs the two one after the
#                 other; later copies are older still)
# The clock is Time::HiRes's (gettimeofday), the same as bash's
# $EPOCHREALTIME in the handler. Every line is written at once (autoflush),
# so the files can be read while the agent runs. Exits at end of input,
# i.e. when the agent exits.
use strict;
use warnings;
use Time::HiRes qw(time);
use IO::Handle;

my ($log_path, $ev_path) = @ARGV;
die "usage: stamp.pl LOG EVENTS\n" unless defined $ev_path;
open(my $log, '>>', $log_path) or die "stamp.pl: $log_path: $!\n";
open(my $ev, '>>', $ev_path) or die "stamp.pl: $ev_path: $!\n";
$log->autoflush(1);
$ev->autoflush(1);
my (%seen, %first, %old);
while (my $line = <STDIN>) {
    my $t = sprintf('%.6f', time);
    print $log "$t $line";
    if ($line =~ /serf: messageUserEventType: (\S+)/) {
        next if $seen{$1}++;
        $first{$1} = $t;
        print $ev "$t recv $1\n";
    } elsif ($line =~ /serf: received old event (\S+) from time/) {
        print $ev "$t old $1\n"
            if !$old{$1}++ && ($seen{$1} // 0) == 1 && $t - $first{$1} < 0.05;
    } elsif ($line =~ /agent: Requesting user event send: (\S+?)\.? Coalesced/) {
        print $ev "$t send $1\n";
    } elsif ($line =~ /serf: EventMemberFailed: (\S+)/) {
        print $ev "$t failed $1\n";
    } elsif ($line =~ /memberlist: Suspect (\S+) has failed/) {
        print $ev "$t suspect $1\n";
    } elsif ($line =~ /memberlist: Marking (\S+) as failed/) {
        print $ev "$t dead $1\n";
    }
}
