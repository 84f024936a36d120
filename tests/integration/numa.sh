# Emulated NUMA: interleave spreads pages evenly, bind never leaves its node
# (and is an emulated OOM when that node is full although another has
# memory), preferred falls back to the other node when full; real programs
# give output identical to native. This host has one node, so the report
# must say placement is emulated only. Bad node sizes stop before main.
. "$(dirname "$0")/lib.bash"
n() { json "$T/$1.json" "j['memory']['numa']['per_node'][$2]['$3']"; }
VMEMU_OPTS="-s memory.nodes=2 -s numa.policy=interleave" compare_native il -- "$PROGS/touch" 64
VMEMU_OPTS="-s memory.nodes=2 -s numa.policy=interleave" compare_native ilpy -- python3 -c 'print(sum(len(str(i)) for i in range(500_000)))'
a=$(n il 0 allocations); b=$(n il 1 allocations)
echo "interleave: node 0 $a, node 1 $b allocations"
((a > 0 && b > 0 && (a > b ? a - b : b - a) * 20 <= a + b)) || fail "interleave uneven: $a vs $b"
VMEMU_OPTS="-s memory.nodes=2 -s numa.policy=bind -s numa.node=1" compare_native bind -- "$PROGS/touch" 16
(($(n bind 0 allocations) == 0)) || fail "bind to node 1 allocated on node 0"
VMEMU_OPTS="-s memory.size=64M -s memory.nodes=2 -s numa.policy=preferred -s numa.node=1" \
	compare_native pref -- "$PROGS/touch" 48
r=$(json "$T/pref.json" 'j["memory"]["numa"]["remote_allocations"]')
((r > 0 && $(n pref 0 frames_used) > 0)) || fail "preferred did not fall back to node 0 when node 1 filled (remote $r)"
host=$(json "$T/il.json" 'j["memory"]["numa"]["host_nodes"]')
if ((host == 1)); then
	grep -q "placement is emulated only" "$T/il.report" || fail "report does not say placement is emulated only"
fi
# bind to a full node: emulated OOM although node 0 is free
"$VMEMU" run -s memory.size=64M -s memory.nodes=2 -s numa.policy=bind -s numa.node=1 -- "$PROGS/touch" 48 \
	>/dev/null 2>"$T/err"; rc=$?
((rc == 137)) && grep -q "emulated OOM" "$T/err" || { tail -3 "$T/err"; fail "bind to a full node: exit $rc, expected an emulated OOM"; }
# bad input
"$VMEMU" run -s memory.nodes=2 -s memory.node_sizes=1G,2G -- /bin/true 2>"$T/err"; rc=$?
((rc == 2)) && grep -q "key 'memory.node_sizes'" "$T/err" || { cat "$T/err"; fail "node sizes not summing: exit $rc"; }
"$VMEMU" run -s memory.nodes=2 -s numa.distances='10,300;20,10' -- /bin/true 2>"$T/err"; rc=$?
((rc == 2)) && grep -q "key 'numa.distances'" "$T/err" || { cat "$T/err"; fail "bad distances: exit $rc"; }
