# Runs one fuzz target briefly, for ctest: cmake -DFUZZER=... -DCORPUS=...
# -DWORK=... -DRUNS=... [-DDICT=...] -P run_fuzz.cmake
#
# RUNS inputs, starting from the seed corpus CORPUS (read only: what the
# run finds goes to WORK/corpus, made afresh), with a fixed seed. Fails on
# any crash, sanitizer report, leak, timeout or memory blow-up; the input
# that did it is left in WORK.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
set(args -runs=${RUNS} -seed=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192
  -print_final_stats=1 -artifact_prefix=${WORK}/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/corpus ${CORPUS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}): ${found}")
endif()
