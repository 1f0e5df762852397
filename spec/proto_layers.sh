#!/bin/sh
# proto_layers.sh -- ctest's proto_layers: the protocol's modules depend one
# way (README, Architecture). Usage: proto_layers.sh NM OBJECT... (the
# object files of hearsay_proto; a CMake list, split on ';', is taken too).
#
# Every hs_ symbol an object uses and does not define itself must be
# defined by a module of its own layer or of a lower one: what a lower
# layer needs of a higher one it gets through the node's upcalls (node.h),
# which node.c fills in. The table below is the one place the layers are
# written down, lowest first; a module is its file's name without ".c". A
# new file of core/proto/ fails the test until it is placed here.
set -eu

LAYERS='
data        err bytes hash rng cidr http_url log io identity keycache ratelimit holders feedpath
            suspicions
            auth peerindex peers origins sendq arena seen seenhash idlist envelope envscan envwrite sign
            digest state jsonnum jsonout jsonpick
time        pending deadlines clock
membership  membership score discovery left
push        push
repair      lazypush antientropy shortcut
gossip      gossip query tags
node        node routes view metrics prometheus snapshot config ui ui_assets health
'

nm=$1
shift
tab=$(printf '\t')

# The objects, one a line (a CMake list is split on ';').
objects=$(printf '%s\n' "$@" | tr ';' '\n' | grep -v '^$' || true)
if [ -z "$objects" ]; then
    echo "proto_layers: no object files given" >&2
    exit 2
fi
for obj in $objects; do
    if [ ! -f "$obj" ]; then
        echo "proto_layers: no such object file: $obj" >&2
        exit 2
    fi
done

# One line per hs_ symbol: "def<TAB>module<TAB>symbol" or "use<TAB>module<TAB>symbol".
symbols() {
    for obj in $objects; do
        mod=${obj##*/}
        mod=${mod%.o}
        mod=${mod%.c}
        "$nm" --defined-only "$obj" |
            awk -v m="$mod" '$2 ~ /^[A-Z]$/ && $3 ~ /^hs_/ { print "def\t" m "\t" $3 }'
        "$nm" -u "$obj" | awk -v m="$mod" '$2 ~ /^hs_/ { print "use\t" m "\t" $2 }'
    done
}

export LAYERS
symbols | awk -F "$tab" '
BEGIN {
    n = split(ENVIRON["LAYERS"], line, "\n")
    depth = 0
    for (i = 1; i <= n; i++) {
        k = split(line[i], w, " ")
        if (k == 0)
            continue
        first = 1
        if (substr(line[i], 1, 1) != " ") { # a new layer: its name, then modules
            depth++
            name[depth] = w[1]
            first = 2
        }
        for (j = first; j <= k; j++)
            layer[w[j]] = depth
    }
}
$1 == "def" { def[$3] = $2; mods[$2] = 1 }
$1 == "use" { uses[++nu] = $2 "\t" $3; mods[$2] = 1 }
END {
    bad = 0
    for (m in mods)
        if (!(m in layer)) {
            printf "proto_layers: %s.c is in no layer: place it in spec/proto_layers.sh\n", m
            bad++
        }
    calls = 0
    for (i = 1; i <= nu; i++) {
        split(uses[i], u, "\t")
        from = u[1]; sym = u[2]
        if (!(sym in def)) {
            printf "proto_layers: %s.c uses %s, which no file of core/proto/ defines\n", from, sym
            bad++
            continue
        }
        to = def[sym]
        if (!(from in layer) || !(to in layer))
            continue
        calls++
        if (layer[to] > layer[from]) {
            printf "proto_layers: %s.c (layer %s) calls %s, defined in %s.c (layer %s, above it)\n",
                   from, name[layer[from]], sym, to, name[layer[to]]
            bad++
        }
    }
    if (bad) {
        printf "proto_layers: %d wrong; the layers, lowest first, are in spec/proto_layers.sh\n", bad
        exit 1
    }
    printf "proto_layers: %d uses of hs_ symbols between the objects, none of a higher layer\n", calls
}'
